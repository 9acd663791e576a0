"""Column types as RDataFrame reports them, and the NumPy dtypes the loader can deliver."""

from __future__ import annotations

import re
from dataclasses import dataclass

# RDataFrame's spelling of a scalar type -> the NumPy dtype it is read as.
_SCALARS: dict[str, str] = {}
for _dtype, _names in {
    "bool": "bool Bool_t",
    "int8": "char Char_t signed_char int8_t std::int8_t",
    "uint8": "unsigned_char UChar_t uint8_t std::uint8_t Byte_t",
    "int16": "short short_int Short_t int16_t std::int16_t",
    "uint16": "unsigned_short unsigned_short_int UShort_t uint16_t std::uint16_t",
    "int32": "int Int_t int32_t std::int32_t",
    "uint32": "unsigned unsigned_int UInt_t uint32_t std::uint32_t",
    "int64": "long long_int long_long long_long_int Long_t Long64_t int64_t std::int64_t ssize_t",
    "uint64": "unsigned_long unsigned_long_int unsigned_long_long unsigned_long_long_int ULong_t ULong64_t "
    "uint64_t std::uint64_t size_t std::size_t",
    "float32": "float Float_t Float16_t",
    "float64": "double Double_t Double32_t",
}.items():
    for _name in _names.split():
        _SCALARS[_name.replace("_", " ") if _name.islower() and "_t" not in _name else _name] = _dtype

_VECTOR = re.compile(
    r"^(?:ROOT::VecOps::RVec|ROOT::RVec|RVec|std::vector|vector)<\s*(?P<elem>[^<>,]+?)\s*(?:,\s*[^<>]+)?>$"
    r"|^(?:std::)?array<\s*(?P<aelem>[^<>,]+?)\s*,\s*(?P<n>\d+)\s*>$"
)
_CHARACTERS = {"char", "Char_t"}

#: dtypes a column can be delivered in (``dtypes={"label": "int64"}``); ``EDType`` names on the C++ side.
OUTPUT_DTYPES = {
    "float32": "kFloat32",
    "float64": "kFloat64",
    "int8": "kInt8",
    "int16": "kInt16",
    "int32": "kInt32",
    "int64": "kInt64",
    "uint8": "kUInt8",
    "uint16": "kUInt16",
    "uint32": "kUInt32",
    "uint64": "kUInt64",
    "bool": "kBool",
}


@dataclass(frozen=True)
class ColumnType:
    """How a column is read: the C++ type for the template pack, and whether it is a vector."""

    cxx: str
    element_dtype: str
    is_vector: bool


# ROOT's typedefs and the builtin types they stand for: the same type to the compiler.
_TYPEDEFS = {"Bool_t": "bool", "Char_t": "char", "UChar_t": "unsigned char", "Short_t": "short",
             "UShort_t": "unsigned short", "Int_t": "int", "UInt_t": "unsigned int", "Long_t": "long",
             "ULong_t": "unsigned long", "Long64_t": "long long", "ULong64_t": "unsigned long long",
             "Float_t": "float", "Double_t": "double"}
_TYPEDEF_NAMES = re.compile(r"\b(%s)\b" % "|".join(_TYPEDEFS))


def same_cxx_type(cxx: str) -> str:
    """A spelling of a column type in which ROOT's typedefs are replaced by the types they name."""
    return _TYPEDEF_NAMES.sub(lambda m: _TYPEDEFS[m.group(1)], " ".join(str(cxx).split()))


def parse_column_type(column: str, cxx: str) -> ColumnType:
    """Interpret ``df.GetColumnType(column)``; raise ``TypeError`` for what cannot become a tensor."""
    name = " ".join(str(cxx).split())
    if name in _SCALARS:
        return ColumnType(name, _SCALARS[name], False)
    match = _VECTOR.match(name)
    if match:
        element = match.group("elem") or match.group("aelem")
        if element in _CHARACTERS:
            raise TypeError(
                f"column {column!r} has type {name}, a string stored as characters, which is not a number; "
                f"leave it out with columns=[...], or Define a numeric column from it"
            )
        if element in _SCALARS:
            return ColumnType(name, _SCALARS[element], True)
    raise TypeError(
        f"column {column!r} has type {name}, which the loader cannot turn into a tensor; supported are "
        f"arithmetic types and RVec/std::vector/std::array of them. Leave it out with columns=[...], "
        f"or Define a numeric column from it"
    )


def normalize_dtype(column: str, dtype) -> str:
    """The canonical name of a requested output dtype (accepts strings and NumPy dtypes)."""
    import numpy as np

    try:
        name = np.dtype(dtype).name
    except TypeError as error:
        raise TypeError(f"dtypes[{column!r}]: {dtype!r} is not a NumPy dtype") from error
    if name not in OUTPUT_DTYPES:
        raise TypeError(f"dtypes[{column!r}]: {name} is not supported; choose one of {', '.join(OUTPUT_DTYPES)}")
    return name
