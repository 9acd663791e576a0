/// \file ROOT/ML/Detail/RStreams.hxx
/// \brief An epoch read as several streams at once, so that even a small shuffle window mixes the dataset.

#ifndef ROOT_ML_Detail_RStreams
#define ROOT_ML_Detail_RStreams

#include "ROOT/ML/Detail/RReadingPlan.hxx"

#include <cstddef>
#include <cstdint>
#include <queue>
#include <utility>
#include <vector>

namespace ROOT {
namespace ML {
namespace Detail {

/// \brief Cuts the sequence of an epoch's entries into streams read side by side, and says how many
/// entries each window takes from each stream.
///
/// Read in order, a window holds one contiguous stretch of the epoch: a run of one cluster of one file, which
/// for a dataset sorted by physics process is a single process, whatever the shuffle within the window. Cut
/// into S consecutive streams read together, every window instead holds S stretches from all over the epoch
/// (whose units are in a shuffled order, across files and dataframes), each in proportion to its length:
/// for a dataset of sorted classes, every window then holds the classes in about their proportions.
///
/// The k-th entry of a stream of L entries is due at time (k + 1/2) / L; a window takes the next entries
/// in order of time (ties to the lower stream), so that the streams end together. A window's positions
/// hold its entries stream after stream.
class RStreamSchedule {
   std::vector<std::vector<RUnitSlice>> fSlices; ///< Per stream, the slices it reads in order.
   std::vector<std::uint64_t> fLengths;           ///< Per stream, its entries.
   std::vector<std::uint64_t> fTaken;             ///< Per stream, its entries in windows so far.

   /// Orders streams by the time of their next entry, (2 taken + 1) / (2 length), soonest first.
   struct RLater {
      const RStreamSchedule *fSchedule;
      bool operator()(std::size_t a, std::size_t b) const
      {
         const auto &taken = fSchedule->fTaken;
         const auto &length = fSchedule->fLengths;
         const auto left = static_cast<unsigned __int128>(2 * taken[a] + 1) * length[b];
         const auto right = static_cast<unsigned __int128>(2 * taken[b] + 1) * length[a];
         return left > right || (left == right && a > b);
      }
   };

public:
   /// \param slices the epoch's entries, in reading order
   /// \param entries their number
   /// \param streams how many streams to read them as (at most one per entry)
   RStreamSchedule(const std::vector<RUnitSlice> &slices, std::uint64_t entries, std::uint64_t streams)
   {
      streams = std::max<std::uint64_t>(1, std::min(streams, entries));
      for (std::uint64_t s = 0; s < streams; ++s) {
         const auto begin = entries * s / streams, end = entries * (s + 1) / streams;
         fSlices.push_back(RReadingPlan::Cut(slices, begin, end));
         fLengths.push_back(end - begin);
      }
      fTaken.assign(streams, 0);
   }

   std::size_t GetNumStreams() const { return fSlices.size(); }
   /// The slices stream `s` reads, in order.
   const std::vector<RUnitSlice> &GetSlices(std::size_t s) const { return fSlices[s]; }

   /// How many of the next `entries` entries come from each stream.
   std::vector<std::uint64_t> Take(std::uint64_t entries)
   {
      std::vector<std::uint64_t> counts(fSlices.size(), 0);
      if (fSlices.size() == 1) {
         counts[0] = entries;
         fTaken[0] += entries;
         return counts;
      }
      std::priority_queue<std::size_t, std::vector<std::size_t>, RLater> due(RLater{this});
      for (std::size_t s = 0; s < fSlices.size(); ++s)
         if (fTaken[s] < fLengths[s])
            due.push(s);
      for (std::uint64_t i = 0; i < entries && !due.empty(); ++i) {
         const auto s = due.top();
         due.pop();
         ++counts[s];
         if (++fTaken[s] < fLengths[s])
            due.push(s);
      }
      return counts;
   }
};

} // namespace Detail
} // namespace ML
} // namespace ROOT

#endif
