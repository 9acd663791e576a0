/// \file ROOT/ML/Detail/RColumnChunk.hxx
/// \brief The values of one column for a range of entries, as a source decodes them, and a cursor over them.

#ifndef ROOT_ML_Detail_RColumnChunk
#define ROOT_ML_Detail_RColumnChunk

#include "ROOT/ML/Detail/RColumnWriter.hxx"
#include "ROOT/ML/Detail/RPassingMask.hxx"

#include <ROOT/RVec.hxx>
#include <TDataType.h>

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <type_traits>
#include <vector>

namespace ROOT {
namespace ML {
namespace Detail {

template <typename T>
struct RIsStdArray : std::false_type {};
template <typename E, std::size_t N>
struct RIsStdArray<std::array<E, N>> : std::true_type {};

/// Whether a column of type T can come from a source (RSource) rather than an event loop: a number, or an
/// RVec or std::vector of numbers, which sources decode as a run of numbers per entry. (std::array columns
/// exist only as Defines, which sources do not read.)
template <typename T>
constexpr bool IsSourceReadable()
{
   return std::is_arithmetic_v<T> || (RVectorTraits<T>::kIsVector && !RIsStdArray<T>::value);
}

/// The number type of a column of type T, RVec<T> or std::vector<T>, and whether it is a vector.
struct RColumnNumbers {
   EDataType fType = kOther_t;
   bool fIsVector = false;
};

template <typename T>
RColumnNumbers NumbersOf()
{
   if constexpr (RVectorTraits<T>::kIsVector)
      return {TDataType::GetType(typeid(typename RVectorTraits<T>::Element_t)), true};
   else
      return {TDataType::GetType(typeid(T)), false};
}

/// Whether two number types are the same bytes (long and long long are both 8 bytes, say).
inline bool SameNumbers(EDataType a, EDataType b)
{
   auto canonical = [](EDataType t) {
      switch (t) {
      case kLong_t: return kLong64_t;
      case kULong_t: return kULong64_t;
      default: return t;
      }
   };
   return canonical(a) == canonical(b);
}

/// Bytes of one number of a column of type T (a vector<bool> is copied as one byte per element).
template <typename T>
constexpr std::size_t NumberSize()
{
   if constexpr (RVectorTraits<T>::kIsVector)
      return sizeof(typename RVectorTraits<T>::Element_t);
   else
      return sizeof(T);
}

/// \brief One column's values for the entries a source read last: numbers in host byte order, back to back
/// and aligned for any arithmetic type, and for a vector column where each entry's run of numbers begins.
///
/// The chunk owns its memory and is reused from read to read, so that it is allocated once per column.
class RColumnChunk {
   std::vector<std::uint64_t> fStorage; ///< 8-byte words: the values, aligned for every element type.
   std::size_t fBytes = 0;
   std::size_t fElementSize = 0;
   std::vector<std::uint64_t> fOffsets; ///< Vector columns: entries + 1 element offsets; empty for scalars.

   std::byte *GetData() { return reinterpret_cast<std::byte *>(fStorage.data()); }

public:
   /// Forgets the values (keeping the memory), for a range of a scalar or a vector column of numbers of
   /// `elementSize` bytes.
   void Clear(bool vector, std::size_t elementSize)
   {
      fBytes = 0;
      fElementSize = elementSize;
      fOffsets.clear();
      if (vector)
         fOffsets.push_back(0);
   }
   /// Room for `bytes` more bytes of values, to be written at the returned address before the next call.
   std::byte *Extend(std::size_t bytes)
   {
      const auto old = fBytes;
      fBytes += bytes;
      const auto words = (fBytes + sizeof(std::uint64_t) - 1) / sizeof(std::uint64_t);
      if (fStorage.size() < words)
         fStorage.resize(std::max(words, 2 * fStorage.size()));
      return GetData() + old;
   }
   /// Ends the entry whose values were appended last (vector columns); `elements` is the total so far.
   void EndEntry(std::uint64_t elements) { fOffsets.push_back(elements); }
   /// Appends one entry: `count` numbers (1 for a scalar column) stored at `values`.
   void Append(const void *values, std::size_t count)
   {
      std::memcpy(Extend(count * fElementSize), values, count * fElementSize);
      if (!fOffsets.empty())
         EndEntry(fOffsets.back() + count);
   }
   /// Appends the entries of `other`, a chunk of the same column.
   void Append(const RColumnChunk &other)
   {
      const auto elements = fBytes / std::max<std::size_t>(fElementSize, 1);
      if (other.fBytes > 0)
         std::memcpy(Extend(other.fBytes), other.GetValues(), other.fBytes);
      for (std::size_t e = 1; e < other.fOffsets.size(); ++e)
         EndEntry(elements + other.fOffsets[e]);
   }
   /// Keeps, of the entries held (those at offsets [begin, end) of a unit), those that `mask` lets pass.
   void Keep(const RPassingMask &mask, std::uint64_t begin, std::uint64_t end)
   {
      std::byte *data = GetData();
      std::uint64_t kept = 0;
      if (fOffsets.empty()) {
         for (auto offset = begin; offset < end; ++offset)
            if (mask.Passes(offset))
               std::memmove(data + fElementSize * kept++, data + fElementSize * (offset - begin), fElementSize);
         fBytes = fElementSize * kept;
         return;
      }
      std::uint64_t elements = 0;
      for (auto offset = begin; offset < end; ++offset) {
         const auto first = fOffsets[offset - begin], last = fOffsets[offset - begin + 1];
         if (!mask.Passes(offset))
            continue;
         std::memmove(data + fElementSize * elements, data + fElementSize * first, fElementSize * (last - first));
         elements += last - first;
         fOffsets[++kept] = elements;
      }
      fOffsets.resize(kept + 1);
      fBytes = fElementSize * elements;
   }
   const std::byte *GetValues() const { return reinterpret_cast<const std::byte *>(fStorage.data()); }
   std::size_t GetNumBytes() const { return fBytes; }
   const std::uint64_t *GetOffsets() const { return fOffsets.empty() ? nullptr : fOffsets.data(); }
};

/// \brief Walks the entries of an RColumnChunk in order, handing out each entry's value as the column's C++
/// type: a number, or a vector viewing the chunk's memory (no copy for RVec).
class RColumnCursor {
   const std::byte *fValues = nullptr;
   const std::uint64_t *fOffsets = nullptr;
   std::uint64_t fEntry = 0;

public:
   RColumnCursor() = default;
   explicit RColumnCursor(const RColumnChunk &chunk) : fValues(chunk.GetValues()), fOffsets(chunk.GetOffsets()) {}

   /// The next entry's value. For an RVec column, a view of the chunk, valid until the source reads again;
   /// a std::vector column gets a copy.
   template <typename T>
   T Next()
   {
      const auto entry = fEntry++;
      if constexpr (std::is_arithmetic_v<T>) {
         T value;
         std::memcpy(&value, fValues + entry * sizeof(T), sizeof(T));
         return value;
      } else {
         using Element_t = typename RVectorTraits<T>::Element_t;
         auto *first = reinterpret_cast<Element_t *>(const_cast<std::byte *>(fValues)) + fOffsets[entry];
         const auto size = static_cast<std::size_t>(fOffsets[entry + 1] - fOffsets[entry]);
         if constexpr (std::is_same_v<T, ROOT::VecOps::RVec<Element_t>>) {
            return T(first, size);
         } else if constexpr (RIsStdArray<T>::value) {
            T value{};
            std::copy_n(first, std::min(size, value.size()), value.begin());
            return value;
         } else {
            return T(first, first + size);
         }
      }
   }

   /// The next `n` values of a scalar column, stored back to back.
   template <typename T>
   const std::byte *NextRun(std::uint64_t n)
   {
      const auto *run = fValues + fEntry * sizeof(T);
      fEntry += n;
      return run;
   }

   /// Passes over the next `n` entries.
   void Skip(std::uint64_t n) { fEntry += n; }
};

} // namespace Detail
} // namespace ML
} // namespace ROOT

#endif
