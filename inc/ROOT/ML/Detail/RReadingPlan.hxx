/// \file ROOT/ML/Detail/RReadingPlan.hxx
/// \brief Which entries a loader reads, in which order, and which split each belongs to.

#ifndef ROOT_ML_Detail_RReadingPlan
#define ROOT_ML_Detail_RReadingPlan

#include "ROOT/ML/Detail/RDataSourceAccess.hxx"
#include "ROOT/ML/Detail/RPassingMask.hxx"
#include "ROOT/ML/Detail/RRandom.hxx"
#include "ROOT/ML/RDataLoaderOptions.hxx"
#include "ROOT/ML/RProgress.hxx"

#include <ROOT/RDataFrame.hxx>
#include <ROOT/RDFHelpers.hxx>
#include <ROOT/RTTreeDS.hxx>
#include <TChain.h>
#include <TEntryList.h>
#include <TFile.h>
#include <TTree.h>

#include <RtypesCore.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace ROOT {
namespace ML {
namespace Detail {

/// A contiguous range of source entries read by one event loop. Units follow the clusters of the
/// dataset: a cluster is decompressed as a whole, so reading a fraction of one costs as much as all of it.
struct RReadingUnit {
   std::size_t fDataFrame = 0;
   std::uint64_t fBegin = 0; ///< First source entry (in the files' numbering).
   std::uint64_t fEnd = 0;
   /// The same range in the numbering of the dataframe's event loop, which counts only the entries of a
   /// TEntryList when the tree has one; and the end of the loop over all of them, restored after the unit.
   std::uint64_t fLoopBegin = 0;
   std::uint64_t fLoopEnd = 0;
   std::uint64_t fLoopAll = 0;
   bool fWholeLoop = false;  ///< The loop must run over the whole dataframe (no clusters, or a Range node).
   bool fListed = false;     ///< The tree has a TEntryList: the loop numbering counts its entries.
   bool fFiltered = false;   ///< Some source entries of the range may not pass its filters (or entry list).
   std::uint64_t fCount = 0; ///< Entries that pass the dataframe's filters (and are in its entry list).
   std::uint64_t fDataFrameEnd = 0; ///< Source entries of the whole dataframe.
};

/// A part of a unit: its passing entries [fSkip, fSkip + fTake).
struct RUnitSlice {
   std::size_t fUnit = 0;
   std::uint64_t fSkip = 0;
   std::uint64_t fTake = 0;
};

/// Restores a dataframe's entry range to all its entries when an event loop over a unit ends, so
/// that a user's own actions on the same dataframe see all entries again.
class RRangeGuard {
   const ROOT::RDF::RNode &fNode;
   Long64_t fAllEntries;
   bool fActive;

public:
   RRangeGuard(const ROOT::RDF::RNode &node, const RReadingUnit &unit)
      : fNode(node), fAllEntries(static_cast<Long64_t>(unit.fLoopAll)), fActive(!unit.fWholeLoop)
   {
      if (fActive)
         ROOT::Internal::RDF::ChangeBeginAndEndEntries(fNode, static_cast<Long64_t>(unit.fLoopBegin),
                                                       static_cast<Long64_t>(unit.fLoopEnd));
   }
   ~RRangeGuard()
   {
      if (fActive)
         ROOT::Internal::RDF::ChangeBeginAndEndEntries(fNode, 0, fAllEntries);
   }
   RRangeGuard(const RRangeGuard &) = delete;
   RRangeGuard &operator=(const RRangeGuard &) = delete;
};

/// \brief The units of all dataframes, their passing-entry counts, and the train/validation split.
///
/// Counting needs one pass over the filter columns of a filtered dataframe; unfiltered TTree and
/// RNTuple sources are counted from their cluster boundaries alone.
///
/// The members that call into RDataFrame are templates over the node type (always RNode) so that
/// they are instantiated with the loader that calls them: in a compiled engine library, cling then
/// never instantiates RDataFrame's actions for them when it parses this header.
class RReadingPlan {
   std::vector<RReadingUnit> fUnits;
   std::vector<RPassingMask> fPassing; ///< Per unit; recorded for filtered units counted entry by entry.
   std::array<std::vector<RUnitSlice>, 2> fSlices;
   std::array<std::uint64_t, 2> fEntries{0, 0};
   std::size_t fNumDataFrames = 0;
   /// Dataframes from this index on hold validation entries only, those before it training entries only:
   /// the split was made by filters on a key (RKeySplit) rather than drawn.
   std::size_t fFirstValidationDataFrame = 0;

   template <typename Node>
   static bool HasRangeNode(Node &node)
   {
      return ROOT::RDF::SaveGraph(node).find("label=\"Range\"") != std::string::npos;
   }

   /// A filtered dataframe whose units [fFirst, fEnd) are yet to be counted entry by entry.
   struct RUncounted {
      std::size_t fDataFrame;
      std::size_t fFirst;
      std::size_t fEnd;
      std::optional<std::vector<std::uint64_t>> fListed; ///< The tree's entry list, if any.
   };

   /// Adds the units of dataframe `index`; a filtered one is added to `uncounted`.
   template <typename Node>
   void AddUnits(std::size_t index, Node &node, std::vector<RUncounted> &uncounted)
   {
      const auto source = ROOT::Internal::RDF::GetDataSourceLabel(node);
      const bool clustered = (source == "TTreeDS" || source == "RNTupleDS") && !HasRangeNode(node);
      const bool filtered = !node.GetFilterNames().empty();
      if (!clustered) {
         if (node.GetNSlots() > 1)
            throw std::invalid_argument(
               "ROOT::ML::RDataLoader: dataframe " + std::to_string(index) +
               " has no clusters to read one by one (an RDataFrame(n) or a Range) and was created with implicit "
               "multi-threading, so its entries arrive in a different order in every loop: the split and the "
               "shuffle could not be reproduced. Create it before ROOT::EnableImplicitMT() or after "
               "ROOT::DisableImplicitMT()");
         RReadingUnit unit;
         unit.fDataFrame = index;
         unit.fWholeLoop = true;
         unit.fFiltered = true;
         {
            std::lock_guard<std::mutex> loop(GetEventLoopLock(node));
            unit.fCount = *node.Count();
         }
         fUnits.push_back(unit);
         fPassing.resize(fUnits.size());
         return;
      }
      const std::size_t first = fUnits.size();
      for (const auto &cluster : ReadableClusterBoundaries(index, node)) {
         if (cluster.second <= cluster.first)
            continue;
         RReadingUnit unit;
         unit.fDataFrame = index;
         unit.fBegin = unit.fLoopBegin = cluster.first;
         unit.fEnd = unit.fLoopEnd = cluster.second;
         unit.fFiltered = filtered;
         unit.fCount = cluster.second - cluster.first;
         fUnits.push_back(unit);
      }
      fPassing.resize(fUnits.size());
      if (fUnits.size() == first)
         return;
      auto listed = ListedEntries(node);
      for (auto u = first; u < fUnits.size(); ++u) {
         auto &unit = fUnits[u];
         unit.fDataFrameEnd = fUnits.back().fEnd;
         unit.fLoopAll = listed ? listed->size() : unit.fDataFrameEnd;
         if (listed)
            SelectListed(unit, *listed, filtered ? nullptr : &fPassing[u]);
      }
      if (filtered)
         uncounted.push_back({index, first, fUnits.size(), std::move(listed)});
   }

   /// ClusterBoundaries, with a missing file or tree (which ROOT reports from an internal function) named
   /// as a problem of the loader's input `index`.
   template <typename Node>
   std::vector<std::pair<std::uint64_t, std::uint64_t>> ReadableClusterBoundaries(std::size_t index, Node &node) const
   {
      try {
         return ClusterBoundaries(node);
      } catch (const std::exception &error) {
         const auto input = index < fFirstValidationDataFrame ? index : index - fFirstValidationDataFrame;
         throw std::invalid_argument("ROOT::ML::RDataLoader: the files of dataframe " + std::to_string(input) +
                                     " cannot be read (" + error.what() +
                                     "); check that every file exists and holds the tree or RNTuple");
      }
   }

   /// The clusters of a dataframe's TTree, TChain or RNTuple, in the files' numbering. ROOT's own listing
   /// looks for a TChain's name in every file; a chain whose files name the tree differently is listed here
   /// file by file, each with its own tree.
   template <typename Node>
   static std::vector<std::pair<std::uint64_t, std::uint64_t>> ClusterBoundaries(Node &node)
   {
      auto *source = dynamic_cast<ROOT::Internal::RDF::RTTreeDS *>(RDataSourceAccess::Get(node));
      auto *chain = source ? dynamic_cast<TChain *>(source->GetTree()) : nullptr;
      if (!chain || !HasRenamedTrees(*chain))
         return ROOT::Internal::RDF::GetDatasetGlobalClusterBoundaries(node);
      std::vector<std::pair<std::uint64_t, std::uint64_t>> clusters;
      std::uint64_t offset = 0;
      for (auto *element : *chain->GetListOfFiles()) {
         std::unique_ptr<TFile> file(TFile::Open(element->GetTitle(), "READ"));
         auto *tree = file && !file->IsZombie() ? file->Get<TTree>(element->GetName()) : nullptr;
         if (!tree)
            throw std::runtime_error(std::string("ROOT::ML::RDataLoader: no tree ") + element->GetName() + " in " +
                                     element->GetTitle());
         auto iterator = tree->GetClusterIterator(0);
         for (Long64_t begin = iterator(); begin < tree->GetEntries(); begin = iterator())
            clusters.emplace_back(offset + begin, offset + iterator.GetNextEntry());
         offset += static_cast<std::uint64_t>(tree->GetEntries());
      }
      return clusters;
   }

   static bool HasRenamedTrees(TChain &chain)
   {
      for (auto *element : *chain.GetListOfFiles())
         if (std::string(element->GetName()) != chain.GetName())
            return true;
      return false;
   }

   /// The entries of a TTree or TChain's TEntryList, in the files' numbering; none without an entry list.
   template <typename Node>
   static std::optional<std::vector<std::uint64_t>> ListedEntries(Node &node)
   {
      auto *source = dynamic_cast<ROOT::Internal::RDF::RTTreeDS *>(RDataSourceAccess::Get(node));
      TTree *tree = source ? source->GetTree() : nullptr;
      if (!tree || !tree->GetEntryList())
         return std::nullopt;
      const auto n = static_cast<std::uint64_t>(tree->GetEntryList()->GetN());
      std::vector<std::uint64_t> entries(n);
      for (std::uint64_t i = 0; i < n; ++i)
         entries[i] = static_cast<std::uint64_t>(tree->GetEntryNumber(static_cast<Long64_t>(i)));
      return entries;
   }

   /// Restricts a unit to the listed entries: in the event loop's numbering, its range covers the listed
   /// entries of the unit; with `passing`, records them (a unit with filters records them as it counts).
   static void SelectListed(RReadingUnit &unit, const std::vector<std::uint64_t> &listed, RPassingMask *passing)
   {
      unit.fFiltered = true;
      unit.fListed = true;
      unit.fLoopBegin = std::lower_bound(listed.begin(), listed.end(), unit.fBegin) - listed.begin();
      unit.fLoopEnd = std::lower_bound(listed.begin(), listed.end(), unit.fEnd) - listed.begin();
      unit.fCount = unit.fLoopEnd - unit.fLoopBegin;
      if (!passing)
         return;
      *passing = RPassingMask(unit.fEnd - unit.fBegin);
      for (auto i = unit.fLoopBegin; i < unit.fLoopEnd; ++i)
         passing->Set(listed[i] - unit.fBegin);
   }

   /// Counts the passing entries of every filtered dataframe, telling `progress` the entries looped over.
   template <typename Node>
   void CountPassing(std::vector<Node> &nodes, const std::vector<RUncounted> &uncounted, RProgress *progress)
   {
      std::uint64_t loopEntries = 0;
      for (const auto &dataFrame : uncounted)
         loopEntries += fUnits[dataFrame.fEnd - 1].fLoopEnd - fUnits[dataFrame.fFirst].fLoopBegin;
      RProgress unreported;
      auto &report = progress ? *progress : unreported;
      report.Begin(EProgressTask::kCountingPassing, loopEntries);
      for (const auto &dataFrame : uncounted)
         CountPassing(nodes[dataFrame.fDataFrame], dataFrame, report);
      report.End();
   }

   /// How many entries of each unit of a dataframe pass, and which: one loop over the filter columns. With
   /// implicit multi-threading rdfentry_ is not the entry number in a TChain, so each unit is counted on its
   /// own, and which entries pass is not known.
   template <typename Node>
   void CountPassing(Node &node, const RUncounted &dataFrame, RProgress &progress)
   {
      std::lock_guard<std::mutex> loop(GetEventLoopLock(node));
      if (node.GetNSlots() > 1) {
         for (auto u = dataFrame.fFirst; u < dataFrame.fEnd; ++u) {
            RRangeGuard range(node, fUnits[u]);
            fUnits[u].fCount = *node.Count();
            progress.Advance(fUnits[u].fLoopEnd - fUnits[u].fLoopBegin);
         }
         return;
      }
      std::vector<std::uint64_t> ends;
      for (auto u = dataFrame.fFirst; u < dataFrame.fEnd; ++u) {
         fUnits[u].fCount = 0;
         fPassing[u] = RPassingMask(fUnits[u].fEnd - fUnits[u].fBegin);
         ends.push_back(fUnits[u].fEnd);
      }
      RReadingUnit all = fUnits[dataFrame.fFirst];
      all.fLoopEnd = fUnits[dataFrame.fEnd - 1].fLoopEnd;
      RRangeGuard range(node, all);
      const auto doneBefore = progress.GetDone();
      const auto *listed = dataFrame.fListed ? &*dataFrame.fListed : nullptr;
      // rdfentry_ counts the entries of the entry list, if there is one.
      node.Foreach(
         [&](ULong64_t loopEntry) {
            const auto entry = listed ? (*listed)[loopEntry] : loopEntry;
            const auto u = dataFrame.fFirst + (std::upper_bound(ends.begin(), ends.end(), entry) - ends.begin());
            ++fUnits[u].fCount;
            fPassing[u].Set(entry - fUnits[u].fBegin);
            progress.SetDone(doneBefore + (loopEntry + 1 - all.fLoopBegin));
         },
         {"rdfentry_"});
      progress.SetDone(doneBefore + (all.fLoopEnd - all.fLoopBegin));
   }

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
   /// \param progress where the pass counting the entries that pass the Filters reports, if anywhere
   template <typename Node>
   RReadingPlan(std::vector<Node> &nodes, double validationSplit, std::uint64_t seed, bool shuffled,
                RProgress *progress, std::size_t firstValidationDataFrame = static_cast<std::size_t>(-1))
      : fNumDataFrames(nodes.size()), fFirstValidationDataFrame(std::min(firstValidationDataFrame, nodes.size()))
   {
      std::vector<RUncounted> uncounted;
      for (std::size_t i = 0; i < nodes.size(); ++i)
         AddUnits(i, nodes[i], uncounted);
      CountPassing(nodes, uncounted, progress);
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
