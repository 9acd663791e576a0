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

   /// Parts of the draw per dataframe at least, where its units allow: each unit a dataframe has fewer units
   /// than this is cut into equal parts.
   static constexpr std::uint64_t kSplitBlocks = 32;

   /// The blocks DrawSplit() draws from, in file order: each unit whole or, `shuffled`, cut into equal parts
   /// where its dataframe has fewer than kSplitBlocks units and a read can start anywhere in it
   /// (IsLoopSeekable()).
   std::vector<RUnitSlice> GetSplitBlocks(bool shuffled) const
   {
      std::vector<std::uint64_t> units(fNumDataFrames, 0);
      for (const auto &u : fUnits)
         ++units[u.fDataFrame];
      std::vector<RUnitSlice> blocks;
      for (std::size_t i = 0; i < fUnits.size(); ++i) {
         const auto &unit = fUnits[i];
         const auto parts = shuffled && IsLoopSeekable(i) ? (kSplitBlocks + units[unit.fDataFrame] - 1) / units[unit.fDataFrame] : 1;
         const auto size = std::max<std::uint64_t>(1, (unit.fCount + parts - 1) / parts);
         for (std::uint64_t skip = 0; skip < unit.fCount; skip += size)
            blocks.push_back({i, skip, std::min(size, unit.fCount - skip)});
      }
      return blocks;
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
      // The pieces the draw picks validation entries from, in file order: whole units, or, shuffled, parts of
      // them where a dataframe has few units (a file of one cluster would otherwise validate on its tail).
      auto blocks = GetSplitBlocks(shuffled);
      std::vector<std::size_t> order(blocks.size());
      for (std::size_t i = 0; i < order.size(); ++i)
         order[i] = shuffled ? i : order.size() - 1 - i;
      // Shuffled, validation blocks are drawn from all over each dataframe, so that a dataset sorted by
      // process still validates on every process. The draw depends on the seed alone.
      if (shuffled)
         RRandom(RRandom::Derive(seed, {0x5b117})).Shuffle(order.begin(), order.end());

      std::vector<RUnitSlice> validation;
      for (auto b : order) {
         auto &block = blocks[b];
         auto &left = remaining[fUnits[block.fUnit].fDataFrame];
         const auto take = std::min(left, block.fTake);
         if (take == 0)
            continue;
         block.fTake -= take;
         validation.push_back({block.fUnit, block.fSkip + block.fTake, take});
         left -= take;
      }
      // The training entries: what the draw left of each block, neighbours within a unit joined.
      fSlices[0].clear();
      for (const auto &block : blocks) {
         auto *last = fSlices[0].empty() ? nullptr : &fSlices[0].back();
         if (last && last->fUnit == block.fUnit && last->fSkip + last->fTake == block.fSkip)
            last->fTake += block.fTake;
         else if (block.fTake > 0)
            fSlices[0].push_back(block);
      }
      // Back into file order, so that each unit's slices follow one another (see GetShard()).
      std::sort(validation.begin(), validation.end(), [](const RUnitSlice &a, const RUnitSlice &b) {
         return a.fUnit != b.fUnit ? a.fUnit < b.fUnit : a.fSkip < b.fSkip;
      });
      fSlices[1] = std::move(validation);
      CountSplitEntries();
   }

   const RReadingUnit &GetUnit(std::size_t i) const { return fUnits[i]; }
   /// Whether an event loop can be narrowed to any entries of unit `i` (RReadingUnit::IsLoopSeekable()).
   bool IsLoopSeekable(std::size_t i) const { return fUnits[i].IsLoopSeekable(fPassing[i]); }
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

   /// The slices shard `rank` of `worldSize` reads in one epoch, in reading order. The split's units, each
   /// with its slices, are put in the epoch's order (drawn from `epochSeed`, which differs between epochs and
   /// is the same in every process), and that sequence of entries is cut into consecutive shards of GetShardEntries()
   /// entries. The shards are thus disjoint, equal and made of whole units but for at most two per shard,
   /// cut at a passing-entry boundary; every process can compute every shard without communicating.
   std::vector<RUnitSlice>
   GetShard(ESplit split, bool shuffle, std::uint64_t epochSeed, std::uint64_t rank, std::uint64_t worldSize) const
   {
      const auto &slices = GetSlices(split);
      // The units in a new order, each unit's slices together: an event loop then reads each unit's cluster
      // once per epoch, however the split cut it.
      std::vector<std::size_t> firsts; // of each unit's slices, which follow one another
      for (std::size_t i = 0; i < slices.size(); ++i)
         if (i == 0 || slices[i].fUnit != slices[i - 1].fUnit)
            firsts.push_back(i);
      if (shuffle)
         RRandom(epochSeed).Shuffle(firsts.begin(), firsts.end());
      std::vector<RUnitSlice> order;
      for (const auto first : firsts)
         for (auto i = first; i < slices.size() && slices[i].fUnit == slices[first].fUnit; ++i)
            order.push_back(slices[i]);
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
