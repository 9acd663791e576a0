/// \file ROOT/ML/Detail/RDataFrameSources.hxx
/// \brief How each dataframe is read: from its files, from its files beside its event loop (its Defines), or
/// through its event loop alone, and why.

#ifndef ROOT_ML_Detail_RDataFrameSources
#define ROOT_ML_Detail_RDataFrameSources

#include "ROOT/ML/Detail/RDataSourceAccess.hxx"
#include "ROOT/ML/Detail/REventLoopSource.hxx"
#include "ROOT/ML/Detail/RMixedSource.hxx"
#include "ROOT/ML/Detail/RNTupleSource.hxx"
#include "ROOT/ML/Detail/RReadingPlan.hxx"
#include "ROOT/ML/Detail/RTreeSource.hxx"
#include "ROOT/ML/RDataLoaderOptions.hxx"

#include <ROOT/RDataFrame.hxx>
#include <TChain.h>

#include <algorithm>
#include <cstdint>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

namespace ROOT {
namespace ML {
namespace Detail {

/// The source that reads `columns` (whose types are `numbers`) of `node` from its files, or nullptr, with
/// `whyNot` saying why, where none can read them all.
inline std::unique_ptr<RFileSource> CreateFileSource(ROOT::RDF::RNode &node, const std::vector<std::string> &columns,
                                                     const std::vector<RColumnNumbers> &numbers, std::string &whyNot)
{
   const auto format = ROOT::Internal::RDF::GetDataSourceLabel(node);
   if (format == "TTreeDS")
      return RTreeSource<>::Create(node, columns, numbers, whyNot);
   if (format == "RNTupleDS")
      return RNTupleSource<>::Create(node, columns, numbers, whyNot);
   whyNot = "no source reads a data source of type " + format;
   return nullptr;
}

/// \brief The sources of a loader's dataframes, chosen once when the loader is built: per dataframe, the
/// source that reads its stored columns from its files (with its Defines computed by its event loop), or
/// none where only the event loop can read it; and the event loops themselves, which read the rest.
template <typename... Columns>
class RDataFrameSources {
   /// Whether every column type is one that file sources decode (see IsSourceReadable).
   static constexpr bool kSourceReadable = AllOf({IsSourceReadable<Columns>()...});

   /// Where a dataframe's loaded columns come from.
   enum class EColumnsFrom { kFiles, kFilesAndLoop, kLoop };

   std::vector<ROOT::RDF::RNode> &fNodes;
   const std::vector<std::string> &fColumnNames;
   REventLoops<Columns...> fEventLoops;
   std::unique_ptr<REventLoopSource<Columns...>> fEventLoopSource;
   /// Per dataframe, its source, or nullptr where its entries go through its event loop (why: fReadPaths).
   std::vector<std::unique_ptr<RSource>> fSources;
   std::vector<std::vector<std::string>> fReadPaths; ///< Per dataframe and column, how it is read (statistics).
   /// The most a stream's reader holds, from the sources the dataframes have, read or not.
   std::uint64_t fStreamReaderBytes = 0;
   bool fLoopOnlyInput = false;

   /// The source that reads the columns c with !fromLoop[c] of `node` from its files, if it can read them all.
   std::unique_ptr<RFileSource>
   CreateStoredColumnsSource(ROOT::RDF::RNode &node, const std::vector<bool> &fromLoop, std::string &whyNot) const
   {
      if constexpr (!kSourceReadable) {
         whyNot = "std::array columns are Defines";
         return nullptr;
      } else {
         const std::vector<RColumnNumbers> allNumbers{NumbersOf<Columns>()...};
         std::vector<RColumnNumbers> numbers;
         std::vector<std::string> columns;
         for (std::size_t c = 0; c < fromLoop.size(); ++c)
            if (!fromLoop[c]) {
               columns.push_back(fColumnNames[c]);
               numbers.push_back(allNumbers[c]);
            }
         return Detail::CreateFileSource(node, columns, numbers, whyNot);
      }
   }

   /// The source of dataframe `d`, whose columns come `from` its files or its loop (fromLoop[c] for column c).
   std::unique_ptr<RSource>
   CreateSource(std::size_t d, EColumnsFrom from, const std::vector<bool> &fromLoop, std::uint64_t rowBytes,
                std::string &whyNot)
   {
      if (from == EColumnsFrom::kLoop) {
         whyNot = "every column is a Define";
         return nullptr;
      }
      auto files = CreateStoredColumnsSource(fNodes[d], fromLoop, whyNot);
      if (!files || from == EColumnsFrom::kFiles)
         return files;
      auto loopColumns = fEventLoops.WithPlaceholders(d, fColumnNames, fromLoop);
      return std::make_unique<RMixedSource<Columns...>>(std::move(files), fEventLoops, std::move(loopColumns),
                                                        fromLoop, rowBytes);
   }

   /// ROOT's event loop over a part of a TChain that has a TEntryList stops early (ROOT 6.40): such a chain
   /// can only be read by a source.
   void RefuseListedChainLoop(std::size_t d, std::size_t numInputs, const std::string &whyNot) const
   {
      auto *source = dynamic_cast<ROOT::Internal::RDF::RTTreeDS *>(RDataSourceAccess::Get(fNodes[d]));
      auto *chain = source ? dynamic_cast<TChain *>(source->GetTree()) : nullptr;
      if (chain && chain->GetEntryList())
         throw std::invalid_argument(
            "ROOT::ML::RDataLoader: dataframe " + std::to_string(d % numInputs) +
            " is a TChain with a TEntryList, which ROOT's event loop cannot read in parts, and its columns need the "
            "event loop (" + whyNot + "); load only plain branches with read_threads > 0, or select the entries with "
            "a Filter instead of the entry list");
   }

public:
   /// \param nodes the dataframes (a split by key doubles them: see RReadingPlan); kept by reference
   /// \param replicas per replica, the same dataframes built again, whose event loops run beside those of `nodes`
   /// \param numInputs the dataframes the user gave, for messages
   /// \param rowBytes the bytes of an entry in a batch
   RDataFrameSources(std::vector<ROOT::RDF::RNode> &nodes, const std::vector<std::vector<ROOT::RDF::RNode>> &replicas,
                     std::size_t numInputs, const std::vector<std::string> &columnNames,
                     const RDataLoaderOptions &options, const RReadingPlan &plan, std::uint64_t rowBytes)
      : fNodes(nodes),
        fColumnNames(columnNames),
        fEventLoops(nodes, replicas),
        fSources(nodes.size()),
        fReadPaths(nodes.size())
   {
      for (std::size_t d = 0; d < nodes.size(); ++d) {
         const auto defined = fNodes[d].GetDefinedColumnNames();
         std::vector<bool> fromLoop;
         for (const auto &column : fColumnNames)
            fromLoop.push_back(std::find(defined.begin(), defined.end(), column) != defined.end());
         const auto loopColumns = std::count(fromLoop.begin(), fromLoop.end(), true);
         const auto from = loopColumns == 0                                           ? EColumnsFrom::kFiles
                           : loopColumns == static_cast<std::ptrdiff_t>(fromLoop.size()) ? EColumnsFrom::kLoop
                                                                                         : EColumnsFrom::kFilesAndLoop;
         std::string whyNot;
         auto source = CreateSource(d, from, fromLoop, rowBytes, whyNot);
         // A dataframe given a range of its tree's entries numbers them differently from the files.
         if (source && source->GetNumEntries() != plan.GetNumSourceEntries(d)) {
            source.reset();
            whyNot = "it reads a Range of its entries";
         }
         // The number of streams, and so the batches, depend on the memory the source's readers would hold,
         // whichever path reads: with read_threads=0 the event loop delivers what the source would. A
         // dataframe with Defines is read as one stream, whether its stored columns come from its files or not.
         if (source)
            fStreamReaderBytes = std::max(fStreamReaderBytes, source->GetReaderBytes());
         if (!source || from != EColumnsFrom::kFiles)
            fLoopOnlyInput = true;
         if (source && options.fReadThreads == 0) {
            source.reset();
            whyNot = "read_threads is 0";
         }
         const auto graphs = fEventLoops.GetNumGraphs(d);
         const auto loop =
            graphs > 1 ? "event loops of " + std::to_string(graphs) + " builds" : std::string("event loop");
         for (std::size_t c = 0; c < fColumnNames.size(); ++c)
            fReadPaths[d].push_back(!source      ? loop + " (" + whyNot + ")"
                                    : fromLoop[c] ? loop + " (a Define)"
                                                  : std::string(source->GetName()));
         if (!source)
            RefuseListedChainLoop(d, numInputs, whyNot);
         fSources[d] = std::move(source);
      }
      fEventLoopSource = std::make_unique<REventLoopSource<Columns...>>(
         fEventLoops, fColumnNames, std::vector<bool>(fColumnNames.size(), true), rowBytes);
   }

   /// Per dataframe, its source, or nullptr.
   const std::vector<std::unique_ptr<RSource>> &GetSources() const { return fSources; }
   /// The source of the entries no file source reads.
   const REventLoopSource<Columns...> &GetEventLoopSource() const { return *fEventLoopSource; }
   const std::string &GetReadPath(std::size_t d, std::size_t c) const { return fReadPaths.at(d).at(c); }
   /// The most a stream's reader holds.
   std::uint64_t GetStreamReaderBytes() const
   {
      return std::max(fStreamReaderBytes, fEventLoopSource->GetReaderBytes());
   }
   /// Whether a dataframe's entries need its event loop (it has no file source, or Defines): the loader then
   /// reads the dataset as one stream, since an event loop that jumps between distant entries refills its
   /// tree cache with a whole cluster at every jump.
   bool NeedsEventLoop() const { return fLoopOnlyInput; }
};

} // namespace Detail
} // namespace ML
} // namespace ROOT

#endif
