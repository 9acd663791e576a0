/// \file ROOT/ML/Detail/RReadingPlan.hxx
/// \brief Which entries a loader reads, in which order, and which split each belongs to.

#ifndef ROOT_ML_Detail_RReadingPlan
#define ROOT_ML_Detail_RReadingPlan

#include "ROOT/ML/Detail/RPassingMask.hxx"
#include "ROOT/ML/Detail/RRandom.hxx"
#include "ROOT/ML/Detail/RReadingUnits.hxx"
#include "ROOT/ML/RDataLoaderOptions.hxx"
#include "ROOT/ML/RProgress.hxx"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <functional>
#include <utility>
#include <vector>

namespace ROOT {
namespace ML {
namespace Detail {

/// A part of a unit: its passing entries [fSkip, fSkip + fTake).
struct RUnitSlice {
   std::size_t fUnit = 0;
   std::uint64_t fSkip = 0;
   std::uint64_t fTake = 0;
};

/// \brief The reading units of all dataframes (RUnitCounter), drawn into the training and validation splits,
/// and each epoch's order of them, cut into the shards of distributed training.
class RReadingPlan {
   std::vector<RReadingUnit> fUnits;
   std::vector<RPassingMask> fPassing; ///< Per unit; recorded for filtered units counted entry by entry.
   std::array<std::vector<RUnitSlice>, 2> fSlices;
   std::array<std::uint64_t, 2> fEntries{0, 0};
   std::size_t fNumDataFrames = 0;
   /// Dataframes from this index on hold validation entries only, those before it training entries only:
   /// the split was made by filters on a key (RKeySplit) rather than drawn.
   std::size_t fFirstValidationDataFrame = 0;

   /// Validation entries per dataframe: each dataframe (often one physics process) gives its share,
   /// rounded so that the total is round(validationSplit * entries) exactly.
   std::vector<std::uint64_t> ValidationQuota(double validationSplit, std::size_t nDataFrames) const
   {
      std::vector<std::uint64_t> counts(nDataFrames, 0);
      std::uint64_t total = 0;
      for (const auto &u : fUnits) {
         counts[u.fDataFrame] += u.fCount;
         total += u.fCount;
      }
      const auto wanted = static_cast<std::uint64_t>(std::llround(validationSplit * static_cast<double>(total)));
      std::vector<std::uint64_t> quota(nDataFrames);
      std::vector<std::pair<double, std::size_t>> remainders;
      std::uint64_t assigned = 0;
      for (std::size_t d = 0; d < nDataFrames; ++d) {
         const double exact = validationSplit * static_cast<double>(counts[d]);
         quota[d] = static_cast<std::uint64_t>(exact);
         assigned += quota[d];
         remainders.emplace_back(exact - static_cast<double>(quota[d]), d);
      }
      std::sort(remainders.begin(), remainders.end(), std::greater<>());
      for (std::size_t i = 0; assigned < wanted && i < remainders.size(); ++i)
         if (quota[remainders[i].second] < counts[remainders[i].second]) {
            ++quota[remainders[i].second];
            ++assigned;
         }
      return quota;
   }

   void AssignSplitByDataFrame()
   {
      fSlices[0].clear();
      fSlices[1].clear();
      for (std::size_t i = 0; i < fUnits.size(); ++i)
         if (fUnits[i].fCount > 0)
            fSlices[fUnits[i].fDataFrame < fFirstValidationDataFrame ? 0 : 1].push_back({i, 0, fUnits[i].fCount});
      CountSplitEntries();
   }

   void CountSplitEntries()
   {
      for (int split = 0; split < 2; ++split) {
         fEntries[split] = 0;
         for (const auto &s : fSlices[split])
            fEntries[split] += s.fTake;
      }
   }

public:
   RReadingPlan() = default;
   /// \param firstValidationDataFrame with a split by key, the index of the first dataframe of
   ///        validation entries; by default (nodes.size()) the split is drawn from `seed` instead.
   /// \param progress where the pass counting the entries that pass the Filters reports
   template <typename Node>
   RReadingPlan(std::vector<Node> &nodes, double validationSplit, std::uint64_t seed, bool shuffled,
                RProgress &progress, std::size_t firstValidationDataFrame = static_cast<std::size_t>(-1))
      : fNumDataFrames(nodes.size()), fFirstValidationDataFrame(std::min(firstValidationDataFrame, nodes.size()))
   {
      auto counted = RUnitCounter::Count(nodes, fFirstValidationDataFrame, progress);
      fUnits = std::move(counted.fUnits);
      fPassing = std::move(counted.fPassing);
      DrawSplit(validationSplit, seed, shuffled);
   }

   /// Draws which entries of each unit are for validation, replacing any earlier draw. The sizes of the
   /// splits do not depend on the seed, only which entries make them up. Unshuffled, each dataframe's last
   /// entries validate, whatever the seed (as in ROOT's own loader). A split by key is fixed by the
   /// dataframes instead, and no argument changes it.
   void DrawSplit(double validationSplit, std::uint64_t seed, bool shuffled)
   {
      if (fFirstValidationDataFrame < fNumDataFrames) {
         AssignSplitByDataFrame();
         return;
      }
      auto remaining = ValidationQuota(validationSplit, fNumDataFrames);
      std::vector<std::size_t> order(fUnits.size());
      for (std::size_t i = 0; i < order.size(); ++i)
         order[i] = shuffled ? i : order.size() - 1 - i;
      // Shuffled, validation units are drawn from all over each dataframe, so that a dataset sorted by
      // process still validates on every process. The draw depends on the seed alone.
      if (shuffled)
         RRandom(RRandom::Derive(seed, {0x5b117})).Shuffle(order.begin(), order.end());

      std::vector<RUnitSlice> train(fUnits.size()), validation;
      for (std::size_t i = 0; i < fUnits.size(); ++i)
         train[i] = {i, 0, fUnits[i].fCount};
      for (auto u : order) {
         auto &left = remaining[fUnits[u].fDataFrame];
         const auto take = std::min(left, fUnits[u].fCount);
         if (take == 0)
            continue;
         validation.push_back({u, fUnits[u].fCount - take, take});
         train[u].fTake -= take;
         left -= take;
      }
      fSlices[0].clear();
      for (const auto &s : train)
         if (s.fTake > 0)
            fSlices[0].push_back(s);
      if (!shuffled)
         std::reverse(validation.begin(), validation.end()); // back into file order
      fSlices[1] = std::move(validation);
      CountSplitEntries();
   }

   const RReadingUnit &GetUnit(std::size_t i) const { return fUnits[i]; }
   /// Which source entries of unit `i` pass its filters; not recorded (IsRecorded() false) for units
   /// whose entries all pass, or that were counted by implicitly multi-threaded loops.
   const RPassingMask &GetPassing(std::size_t i) const { return fPassing[i]; }
   std::size_t GetNumUnits() const { return fUnits.size(); }
   /// Entries of dataframe `d` before its filters, when it is read cluster by cluster; 0 when it is not.
   std::uint64_t GetNumSourceEntries(std::size_t d) const
   {
      for (const auto &u : fUnits)
         if (u.fDataFrame == d)
            return u.fWholeLoop ? 0 : u.fDataFrameEnd;
      return 0;
   }
   std::uint64_t GetNumEntries(ESplit split) const { return fEntries[static_cast<int>(split)]; }
   const std::vector<RUnitSlice> &GetSlices(ESplit split) const { return fSlices[static_cast<int>(split)]; }

   /// A fingerprint of the units and their passing-entry counts: loaders over the same data agree,
   /// while a changed file, cluster layout or filter almost surely gives another value.
   std::uint64_t GetDigest() const
   {
      std::uint64_t digest = fNumDataFrames;
      for (const auto &u : fUnits)
         digest = RRandom::Derive(digest, {u.fDataFrame, u.fBegin, u.fEnd, u.fCount, u.fWholeLoop, u.fFiltered});
      return digest;
   }

   /// Entries of each shard when an epoch of `split` is cut into `worldSize` shards; the remaining
   /// GetNumEntries(split) % worldSize entries, at the end of the epoch's order, are not read.
   std::uint64_t GetShardEntries(ESplit split, std::uint64_t worldSize) const
   {
      return GetNumEntries(split) / worldSize;
   }

   /// The slices shard `rank` of `worldSize` reads in one epoch, in reading order. The split's slices are
   /// put in the epoch's order (drawn from `epochSeed`, which differs between epochs and is the same in
   /// every process), and that sequence of entries is cut into consecutive shards of GetShardEntries()
   /// entries. The shards are thus disjoint, equal and made of whole units but for at most two per shard,
   /// cut at a passing-entry boundary; every process can compute every shard without communicating.
   std::vector<RUnitSlice>
   GetShard(ESplit split, bool shuffle, std::uint64_t epochSeed, std::uint64_t rank, std::uint64_t worldSize) const
   {
      auto order = GetSlices(split);
      if (shuffle)
         RRandom(epochSeed).Shuffle(order.begin(), order.end());
      const auto entries = GetShardEntries(split, worldSize);
      return Cut(order, rank * entries, (rank + 1) * entries);
   }

   /// The entries [begin, end) of the sequence of entries that `slices` read one after the other.
   static std::vector<RUnitSlice> Cut(const std::vector<RUnitSlice> &slices, std::uint64_t begin, std::uint64_t end)
   {
      std::vector<RUnitSlice> cut;
      std::uint64_t offset = 0;
      for (const auto &s : slices) {
         const auto first = std::max(begin, offset);
         const auto last = std::min(end, offset + s.fTake);
         if (first < last)
            cut.push_back({s.fUnit, s.fSkip + (first - offset), last - first});
         offset += s.fTake;
      }
      return cut;
   }
};

} // namespace Detail
} // namespace ML
} // namespace ROOT

#endif
