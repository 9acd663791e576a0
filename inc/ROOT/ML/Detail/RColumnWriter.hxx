/// \file ROOT/ML/Detail/RColumnWriter.hxx
/// \brief Converts one column value into its place in a batch row: the loader's only copy.

#ifndef ROOT_ML_Detail_RColumnWriter
#define ROOT_ML_Detail_RColumnWriter

#include "ROOT/ML/RBatch.hxx"

#include <ROOT/RVec.hxx>

#include <array>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <initializer_list>
#include <limits>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <vector>

namespace ROOT {
namespace ML {
namespace Detail {

/// Where one input column lands in a batch row.
struct RColumnSlot {
   std::string fName;
   EBlock fBlock = EBlock::kFeatures;
   std::size_t fOffset = 0;     ///< First element within the block's row.
   std::size_t fByteOffset = 0; ///< The same, in bytes.
   std::size_t fWidth = 1;  ///< Elements written per entry: 1, or the maximum size of a vector column.
   EDType fDType = EDType::kFloat32;
   double fPadding = 0.;
   /// Normalisation of each element, value -> (value - shift) * scale; empty when there is none.
   /// Padding is left as given, so that it stays recognisable.
   std::vector<double> fShift;
   std::vector<double> fScale;
};

template <typename T>
struct RVectorTraits {
   static constexpr bool kIsVector = false;
};
template <typename E>
struct RVectorTraits<ROOT::VecOps::RVec<E>> {
   static constexpr bool kIsVector = true;
   using Element_t = E;
};
template <typename E, typename A>
struct RVectorTraits<std::vector<E, A>> {
   static constexpr bool kIsVector = true;
   using Element_t = E;
};
template <typename E, std::size_t N>
struct RVectorTraits<std::array<E, N>> {
   static constexpr bool kIsVector = true;
   using Element_t = E;
};

template <typename T>
constexpr bool IsSupportedColumnType()
{
   if constexpr (RVectorTraits<T>::kIsVector)
      return std::is_arithmetic_v<typename RVectorTraits<T>::Element_t>;
   else
      return std::is_arithmetic_v<T>;
}

/// Whether every flag is set, one per column; a loop rather than a fold, which would nest too deep
/// for thousands of columns.
constexpr bool AllOf(std::initializer_list<bool> flags)
{
   for (bool flag : flags)
      if (!flag)
         return false;
   return true;
}

template <typename... Columns>
constexpr bool AreSupportedColumnTypes()
{
   return AllOf({IsSupportedColumnType<Columns>()...});
}

/// Whether `v` is representable in the integer type Dst (no wrapping, no saturation).
template <typename Dst, typename Src>
bool FitsInteger(Src v)
{
   if constexpr (std::is_floating_point_v<Src>) {
      return !std::isnan(v) && static_cast<long double>(v) >= static_cast<long double>(std::numeric_limits<Dst>::min()) &&
             static_cast<long double>(v) <= static_cast<long double>(std::numeric_limits<Dst>::max());
   } else if constexpr (std::is_same_v<Src, bool>) {
      return true;
   } else {
      if constexpr (std::is_signed_v<Src>) {
         if (v < 0) {
            if constexpr (!std::is_signed_v<Dst>)
               return false;
            else
               return static_cast<std::intmax_t>(v) >= static_cast<std::intmax_t>(std::numeric_limits<Dst>::min());
         }
      }
      return static_cast<std::uintmax_t>(v) <= static_cast<std::uintmax_t>(std::numeric_limits<Dst>::max());
   }
}

/// Whether an integer of type Src can lose digits in the floating-point type Dst (an int64 above 2**53 in
/// a double, an int32 above 2**24 in a float).
template <typename Dst, typename Src>
constexpr bool CanRound()
{
   if constexpr (std::is_floating_point_v<Dst> && std::is_integral_v<Src> && !std::is_same_v<Src, bool>)
      return std::numeric_limits<Src>::digits > std::numeric_limits<Dst>::digits;
   else
      return false;
}

/// Whether the integer `v` is exactly representable in the floating-point type Dst: its significant bits
/// fit in Dst's mantissa.
template <typename Dst, typename Src>
bool IsExactIn(Src v)
{
   using Unsigned = std::make_unsigned_t<Src>;
   Unsigned magnitude = v < 0 ? Unsigned(0) - static_cast<Unsigned>(v) : static_cast<Unsigned>(v);
   if (magnitude == 0)
      return true;
   while ((magnitude & 1u) == 0)
      magnitude >>= 1;
   return magnitude < (Unsigned(1) << std::numeric_limits<Dst>::digits);
}

template <typename Dst, typename Src>
[[noreturn]] void ThrowRounded(Src v, const RColumnSlot &slot)
{
   throw std::out_of_range("ROOT::ML::RDataLoader: value " + std::to_string(v) + " of integer column '" + slot.fName +
                           "' cannot be stored exactly as " + (sizeof(Dst) == 4 ? "float32" : "float64") +
                           " (it has more significant digits than the mantissa); request an integer dtype for it");
}

template <typename Dst, typename Src>
void StoreAs(std::byte *dst, Src v, const RColumnSlot &slot)
{
   Dst out;
   if constexpr (std::is_same_v<Dst, bool>) {
      out = (v != 0);
   } else {
      if constexpr (std::is_integral_v<Dst>) {
         if (!FitsInteger<Dst>(v))
            throw std::out_of_range("ROOT::ML::RDataLoader: value " + std::to_string(v) + " of column '" +
                                    slot.fName + "' does not fit in the requested dtype; request a wider dtype");
      }
      if constexpr (CanRound<Dst, Src>()) {
         if (!IsExactIn<Dst>(v))
            ThrowRounded<Dst>(v, slot);
      }
      out = static_cast<Dst>(v);
   }
   std::memcpy(dst, &out, sizeof(Dst));
}

/// Calls `f` with a value-initialised object of the C++ type of `dtype`.
template <typename F>
void WithDType(EDType dtype, F &&f)
{
   switch (dtype) {
   case EDType::kFloat32: f(float{}); break;
   case EDType::kFloat64: f(double{}); break;
   case EDType::kInt8: f(std::int8_t{}); break;
   case EDType::kInt16: f(std::int16_t{}); break;
   case EDType::kInt32: f(std::int32_t{}); break;
   case EDType::kInt64: f(std::int64_t{}); break;
   case EDType::kUInt8: f(std::uint8_t{}); break;
   case EDType::kUInt16: f(std::uint16_t{}); break;
   case EDType::kUInt32: f(std::uint32_t{}); break;
   case EDType::kUInt64: f(std::uint64_t{}); break;
   case EDType::kBool: f(bool{}); break;
   }
}

/// Converts `v` to `dtype` and stores it at `dst`.
template <typename Src>
void Store(std::byte *dst, Src v, const RColumnSlot &slot)
{
   WithDType(slot.fDType, [&](auto dtype) { StoreAs<decltype(dtype)>(dst, v, slot); });
}

/// The rows of one entry: the address of its row in each block of its batch.
using RRowAddresses = std::array<std::byte *, 3>;

/// Stores element `i` of a column, normalised if the slot asks for it.
template <typename Src>
void StoreElement(std::byte *dst, Src v, std::size_t i, const RColumnSlot &slot)
{
   if (slot.fScale.empty())
      Store(dst, v, slot);
   else
      Store(dst, (static_cast<double>(v) - slot.fShift[i]) * slot.fScale[i], slot);
}

/// Writes the value of one column of one entry into its row.
/// Vector columns are truncated to, or padded up to, the slot's width.
template <typename T>
void WriteColumn(const RColumnSlot &slot, const RRowAddresses &rows, const T &value)
{
   std::byte *dst = rows[static_cast<int>(slot.fBlock)] + slot.fByteOffset;
   if constexpr (RVectorTraits<T>::kIsVector) {
      using Element_t = typename RVectorTraits<T>::Element_t;
      const std::size_t elementSize = GetDTypeSize(slot.fDType);
      const std::size_t n = std::min<std::size_t>(value.size(), slot.fWidth);
      for (std::size_t i = 0; i < n; ++i, dst += elementSize)
         StoreElement(dst, static_cast<Element_t>(value[i]), i, slot);
      for (std::size_t i = n; i < slot.fWidth; ++i, dst += elementSize)
         Store(dst, slot.fPadding, slot);
   } else {
      StoreElement(dst, value, 0, slot);
   }
}

/// Writes `n` values of a scalar column, stored back to back at `values`, into the rows of `n` entries
/// (rows[i] is all null for an entry that is dropped).
template <typename Dst, typename Src>
void ScatterAs(const std::byte *values, std::size_t n, const RRowAddresses *rows, const RColumnSlot &slot)
{
   const auto block = static_cast<int>(slot.fBlock);
   const bool normalised = !slot.fScale.empty();
   const double shift = normalised ? slot.fShift[0] : 0.;
   const double scale = normalised ? slot.fScale[0] : 1.;
   for (std::size_t i = 0; i < n; ++i) {
      std::byte *dst = rows[i][block];
      if (!dst)
         continue;
      dst += slot.fByteOffset;
      Src v;
      std::memcpy(&v, values + i * sizeof(Src), sizeof(Src));
      // Written out rather than through StoreAs, the one conversion that cannot fail stays a plain
      // store even where the interpreter compiles without inlining.
      if constexpr (std::is_floating_point_v<Dst>) {
         if constexpr (CanRound<Dst, Src>()) {
            if (!normalised && !IsExactIn<Dst>(v))
               ThrowRounded<Dst>(v, slot);
         }
         const Dst out = normalised ? static_cast<Dst>((static_cast<double>(v) - shift) * scale) : static_cast<Dst>(v);
         std::memcpy(dst, &out, sizeof(Dst));
      } else if (normalised) {
         StoreAs<Dst>(dst, (static_cast<double>(v) - shift) * scale, slot);
      } else {
         StoreAs<Dst>(dst, v, slot);
      }
   }
}

/// As ScatterAs, converting to the slot's dtype.
template <typename Src>
void Scatter(const std::byte *values, std::size_t n, const RRowAddresses *rows, const RColumnSlot &slot)
{
   WithDType(slot.fDType, [&](auto dtype) { ScatterAs<decltype(dtype), Src>(values, n, rows, slot); });
}

/// Adds the value of one column of one entry to the statistics of its elements; absent vector
/// elements (padding) are not counted.
template <typename Statistics, typename T>
void AccumulateColumn(const RColumnSlot &slot, Statistics *elements, const T &value)
{
   if constexpr (RVectorTraits<T>::kIsVector) {
      const std::size_t n = std::min<std::size_t>(value.size(), slot.fWidth);
      for (std::size_t i = 0; i < n; ++i)
         elements[i].Add(static_cast<double>(value[i]));
   } else {
      elements[0].Add(static_cast<double>(value));
   }
}

} // namespace Detail
} // namespace ML
} // namespace ROOT

#endif
