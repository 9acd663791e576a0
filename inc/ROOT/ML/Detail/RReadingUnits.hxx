/// \file ROOT/ML/Detail/RReadingUnits.hxx
/// \brief The reading units of a loader's dataframes (their clusters), and which of their entries pass.

#ifndef ROOT_ML_Detail_RReadingUnits
#define ROOT_ML_Detail_RReadingUnits

#include "ROOT/ML/Detail/RDataSourceAccess.hxx"
#include "ROOT/ML/Detail/RPassingMask.hxx"
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
#include <cstdint>
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

   /// Whether an event loop can be narrowed to any of the unit's entries, given which pass its filters (a loop
   /// over a whole dataframe, or over a unit whose passing entries are not known, starts at its first entry).
   bool IsLoopSeekable(const RPassingMask &passing) const
   {
      return !fWholeLoop && !fListed && (!fFiltered || passing.IsRecorded());
   }
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

/// The reading units of a loader's dataframes, in the order of the dataframes and of their entries, and per
/// unit which source entries pass (recorded for the filtered units counted entry by entry).
struct RCountedUnits {
   std::vector<RReadingUnit> fUnits;
   std::vector<RPassingMask> fPassing;
};

/// \brief Cuts a loader's dataframes into reading units along their clusters, and counts the entries of each
/// that pass the dataframe's Filters (and entry list).
///
/// Counting needs one pass over the filter columns of a filtered dataframe; unfiltered TTree and
/// RNTuple sources are counted from their cluster boundaries alone.
///
/// The members that call into RDataFrame are templates over the node type (always RNode) so that
/// they are instantiated with the loader that calls them: in a compiled engine library, cling then
/// never instantiates RDataFrame's actions for them when it parses this header.
class RUnitCounter {
   std::vector<RReadingUnit> fUnits;
   std::vector<RPassingMask> fPassing;
   /// Dataframes from this index on are a split by key's validation copies of the inputs (for messages).
   std::size_t fFirstValidationDataFrame;

   explicit RUnitCounter(std::size_t firstValidationDataFrame) : fFirstValidationDataFrame(firstValidationDataFrame) {}

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
   void CountPassing(std::vector<Node> &nodes, const std::vector<RUncounted> &uncounted, RProgress &progress)
   {
      std::uint64_t loopEntries = 0;
      for (const auto &dataFrame : uncounted)
         loopEntries += fUnits[dataFrame.fEnd - 1].fLoopEnd - fUnits[dataFrame.fFirst].fLoopBegin;
      progress.Begin(EProgressTask::kCountingPassing, loopEntries);
      for (const auto &dataFrame : uncounted)
         CountPassing(nodes[dataFrame.fDataFrame], dataFrame, progress);
      progress.End();
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

public:
   /// The units of `nodes` and their passing entries, the counting pass reported to `progress`.
   /// \param firstValidationDataFrame with a split by key, the index of the first dataframe of validation
   ///        entries (nodes.size() otherwise), so that messages name the user's input
   template <typename Node>
   static RCountedUnits Count(std::vector<Node> &nodes, std::size_t firstValidationDataFrame, RProgress &progress)
   {
      RUnitCounter counter(firstValidationDataFrame);
      std::vector<RUncounted> uncounted;
      for (std::size_t i = 0; i < nodes.size(); ++i)
         counter.AddUnits(i, nodes[i], uncounted);
      counter.CountPassing(nodes, uncounted, progress);
      return {std::move(counter.fUnits), std::move(counter.fPassing)};
   }
};

} // namespace Detail
} // namespace ML
} // namespace ROOT

#endif
