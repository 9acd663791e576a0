/// \file ROOT/ML/Detail/RPassingMask.hxx
/// \brief Which source entries of a reading unit pass its dataframe's filters (and entry list).

#ifndef ROOT_ML_Detail_RPassingMask
#define ROOT_ML_Detail_RPassingMask

#include <algorithm>
#include <cstdint>
#include <vector>

namespace ROOT {
namespace ML {
namespace Detail {

/// Which source entries of a unit pass its dataframe's filters, a bit per entry. Recorded by the loop
/// that counts them, it lets every later epoch pick the passing entries out of whole baskets instead
/// of running the filters again: 1 bit per source entry, where the event loop would cost a few virtual
/// calls per value.
class RPassingMask {
   std::vector<std::uint64_t> fWords;

public:
   RPassingMask() = default;
   explicit RPassingMask(std::uint64_t entries) : fWords((entries + 63) / 64) {}

   bool IsRecorded() const { return !fWords.empty(); }
   void Set(std::uint64_t offset) { fWords[offset / 64] |= std::uint64_t(1) << (offset % 64); }
   bool Passes(std::uint64_t offset) const { return (fWords[offset / 64] >> (offset % 64)) & 1u; }

   /// How many entries at offsets [begin, end) pass.
   std::uint64_t Count(std::uint64_t begin, std::uint64_t end) const
   {
      std::uint64_t count = 0;
      for (auto offset = begin; offset < end;) {
         const auto bits = std::min<std::uint64_t>(64 - offset % 64, end - offset);
         auto word = fWords[offset / 64] >> (offset % 64);
         if (bits < 64)
            word &= (std::uint64_t(1) << bits) - 1;
         count += static_cast<std::uint64_t>(__builtin_popcountll(word));
         offset += bits;
      }
      return count;
   }

   /// The offset of the passing entry of rank `rank` (0 for the first); there must be one.
   std::uint64_t Select(std::uint64_t rank) const
   {
      std::size_t word = 0;
      for (auto count = static_cast<std::uint64_t>(__builtin_popcountll(fWords[0])); count <= rank;
           count = static_cast<std::uint64_t>(__builtin_popcountll(fWords[++word])))
         rank -= count;
      std::uint64_t bits = fWords[word];
      for (; rank > 0; --rank)
         bits &= bits - 1; // clears the lowest set bit
      return word * 64 + static_cast<std::uint64_t>(__builtin_ctzll(bits));
   }
};

} // namespace Detail
} // namespace ML
} // namespace ROOT

#endif
