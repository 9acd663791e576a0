/// \file ROOT/ML/Detail/REventLoopSource.hxx
/// \brief The source of what no other source reads: RDataFrame's own event loop (Defines, friends, ...).

#ifndef ROOT_ML_Detail_REventLoopSource
#define ROOT_ML_Detail_REventLoopSource

#include "ROOT/ML/Detail/RDataSourceAccess.hxx"
#include "ROOT/ML/Detail/RDeferredForeach.hxx"
#include "ROOT/ML/Detail/RReadingPlan.hxx"
#include "ROOT/ML/Detail/RSource.hxx"
#include "ROOT/ML/Detail/RThreadTeam.hxx"

#include <ROOT/RDFHelpers.hxx>
#include <ROOT/RDataFrame.hxx>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <set>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <typeinfo>
#include <utility>
#include <vector>

namespace ROOT {
namespace ML {
namespace Detail {

/// Thrown inside an event loop to abandon it once it has delivered what was asked.
struct RStopRequest {};

/// A Define's callable that stands for a column the loop need not compute: one per column type (not per
/// column), so that the loader instantiates one RDefine per type.
template <typename T>
struct RPlaceholder {
   T operator()() const { return T{}; }
};

/// The loader's dataframes, taken out of the first of their builds (none without builds): the others are their
/// replicas.
inline std::vector<ROOT::RDF::RNode> TakeFirstBuild(std::vector<std::vector<ROOT::RDF::RNode>> &builds)
{
   if (builds.empty())
      return {};
   auto first = std::move(builds.front());
   builds.erase(builds.begin());
   return first;
}

/// What tells builds of a dataframe apart: its graph as ROOT::RDF::SaveGraph() draws it (which leaves out
/// Defines after the last Filter), its Defines and its Filters' names.
inline std::string DescribeOperations(ROOT::RDF::RNode node)
{
   auto operations = ROOT::RDF::SaveGraph(node);
   for (const auto &names : {node.GetDefinedColumnNames(), node.GetFilterNames()})
      for (const auto &name : names)
         operations += "\n" + name;
   return operations;
}

/// Checks that each replica holds the dataframes of `nodes` built again: as many, with the same operations
/// (DescribeOperations()), on graphs of their own.
inline void
CheckReplicas(const std::vector<ROOT::RDF::RNode> &nodes, const std::vector<std::vector<ROOT::RDF::RNode>> &replicas)
{
   auto graphsOf = [](const std::vector<ROOT::RDF::RNode> &build) {
      std::set<const void *> graphs;
      for (const auto &node : build)
         graphs.insert(RDataSourceAccess::GetLoop(node));
      return graphs;
   };
   auto seen = graphsOf(nodes);
   for (std::size_t r = 0; r < replicas.size(); ++r) {
      // Counted as the user counts the calls of a build function: the first is the loader's own dataframes.
      const auto build = "ROOT::ML::RDataLoader: build " + std::to_string(r + 2) + " of the dataframes ";
      if (replicas[r].size() != nodes.size())
         throw std::invalid_argument(build + "holds " + std::to_string(replicas[r].size()) +
                                     " dataframes and the first " + std::to_string(nodes.size()) +
                                     "; each build must return the same dataframes");
      for (const auto *graph : graphsOf(replicas[r]))
         if (!seen.insert(graph).second)
            throw std::invalid_argument(build + "returned a dataframe of an earlier build again: each build must "
                                                "create new RDataFrames, since one runs a single event loop at a time");
      for (std::size_t d = 0; d < nodes.size(); ++d)
         if (DescribeOperations(replicas[r][d]) != DescribeOperations(nodes[d]))
            throw std::invalid_argument(build + "differs from the first in dataframe " + std::to_string(d) +
                                        " (its source, Defines or Filters): each build must return the same "
                                        "dataframes");
   }
}

/// \brief The event loops of a loader's dataframes: the typed Foreach over the loaded columns, run under the
/// lock of each dataframe's computation graph, which runs one loop at a time (epochs of both splits, and other
/// loaders over nodes of the same RDataFrame, may be reading).
///
/// A dataframe may come with replicas, the same dataframe built again on graphs of their own: each graph runs
/// a loop of its own at the same time, so that the Defines and Filters of a read are computed in parallel.
template <typename... Columns>
class REventLoops {
   /// Per dataframe, its graphs: the loader's node, then its replicas; copies, to which placeholder columns are
   /// added.
   std::vector<std::vector<ROOT::RDF::RNode>> fGraphs;
   RDeferredForeach<Columns...> fForeach;
   std::mutex fCompiling; ///< Not std::call_once, whose thread-local state cling cannot link.
   /// Per dataframe and graph, the lock of the graph's loop (GetEventLoopLock()).
   std::vector<std::vector<std::mutex *>> fLocks;

   static std::string PlaceholderName(std::size_t c) { return "rdataloader_placeholder_" + std::to_string(c); }

   template <std::size_t... I>
   void DefinePlaceholders(ROOT::RDF::RNode &node, std::index_sequence<I...>)
   {
      ((node = node.Define(PlaceholderName(I), RPlaceholder<Columns>{})), ...);
   }

public:
   /// \param replicas per replica, the dataframes of `nodes` built again, in the same order
   REventLoops(const std::vector<ROOT::RDF::RNode> &nodes, const std::vector<std::vector<ROOT::RDF::RNode>> &replicas)
   {
      for (std::size_t d = 0; d < nodes.size(); ++d) {
         fGraphs.push_back({nodes[d]});
         for (const auto &replica : replicas)
            fGraphs.back().push_back(replica.at(d));
         fLocks.emplace_back();
         for (const auto &graph : fGraphs.back())
            fLocks.back().push_back(&GetEventLoopLock(graph));
      }
   }

   /// The graphs of dataframe `d` that can run loops at the same time.
   std::size_t GetNumGraphs(std::size_t d) const { return fGraphs[d].size(); }

   /// The columns a loop over dataframe `d` reads to compute only those c with fromLoop[c]: the others are
   /// replaced by placeholders, Defines of a default value that read no branch. Not thread-safe: call before
   /// any loop runs.
   std::vector<std::string>
   WithPlaceholders(std::size_t d, std::vector<std::string> columns, const std::vector<bool> &fromLoop)
   {
      for (auto &graph : fGraphs[d])
         DefinePlaceholders(graph, std::index_sequence_for<Columns...>{});
      // Columns of one type share the placeholder of the first, computed once per entry: a placeholder per
      // column cost a loop over three Defines of NanoAOD jets 0.1 s of its 0.9 s per million entries (measured).
      const std::type_info *types[] = {&typeid(Columns)...};
      for (std::size_t c = 0; c < columns.size(); ++c) {
         const auto first = std::find_if(types, types + c, [&](const std::type_info *t) { return *t == *types[c]; });
         if (!fromLoop[c])
            columns[c] = PlaceholderName(first - types);
      }
      return columns;
   }

   /// Runs the event loop of graph `graph` of `unit`'s dataframe over the loop range [loopBegin, loopEnd) (the
   /// whole dataframe for a whole-loop unit), calling action(values...) of `columns` for every entry that passes
   /// its filters.
   template <typename Action>
   void Run(const RReadingUnit &unit, std::size_t graph, std::uint64_t loopBegin, std::uint64_t loopEnd,
            const std::vector<std::string> &columns, Action &action)
   {
      std::lock_guard<std::mutex> lock(*fLocks[unit.fDataFrame][graph]);
      {
         std::lock_guard<std::mutex> compiling(fCompiling);
         fForeach.Compile();
      }
      auto &node = fGraphs[unit.fDataFrame][graph];
      RReadingUnit range = unit;
      range.fLoopBegin = loopBegin;
      range.fLoopEnd = loopEnd;
      RRangeGuard guard(node, range);
      // With implicit multi-threading a cluster is one task; the lock only guards against a data source
      // that would split it.
      std::mutex taskLock;
      const bool threaded = node.GetNSlots() > 1;
      auto call = [&](const Columns &...values) {
         std::unique_lock<std::mutex> taskGuard(taskLock, std::defer_lock);
         if (threaded)
            taskGuard.lock();
         action(values...);
      };
      fForeach(node, columns, RErasedAction<Columns...>(call));
   }
};

/// \brief Reads entries through their dataframe's event loop into column chunks, as a file source would,
/// so that the rest of the loader does not tell them apart. Each read is one loop, as narrow as the plan
/// allows: a unit's own range, or with a recorded passing mask, the source entries of the entries asked.
/// Where the dataframe has replicas and the loop can be narrowed, a read is cut into consecutive parts, one per
/// graph, whose loops run side by side and whose entries are then put back in order.
template <typename... Columns>
class REventLoopReader final : public RSourceReader {
   /// Passing entries below which a part is not worth a loop of its own: a loop over part of an RNTuple starts
   /// in about 4 ms (ROOT 6.40, measured), as long as computing a few Defines for this many entries takes.
   static constexpr std::uint64_t kMinPartEntries = 8192;

   /// Per part of the read last, per column, the part's entries; those of part 0 then hold the whole read.
   std::vector<std::vector<RColumnChunk>> fParts;
   std::unique_ptr<RThreadTeam> fTeam; ///< A thread per part, for reads cut into parts.
   REventLoops<Columns...> &fLoops;
   const std::vector<std::string> &fColumns; ///< Read by the loop, placeholders where !fFromLoop.
   const std::vector<bool> &fFromLoop;       ///< Per column, whether the loop delivers it.

   /// The typed entries of one loop, kept from the `skip`-th passing entry to the `skip + take`-th.
   class RCollect {
      std::vector<RColumnChunk> &fChunks;
      const std::vector<bool> &fFromLoop;
      std::uint64_t fSkip;
      std::uint64_t fEnd;
      bool fAbort;
      std::uint64_t fSeen = 0;

      template <typename T>
      static void Append(RColumnChunk &chunk, const T &value)
      {
         if constexpr (std::is_arithmetic_v<T>) {
            chunk.Append(&value, 1);
         } else if constexpr (std::is_same_v<T, std::vector<bool>>) {
            const std::vector<char> bytes(value.begin(), value.end());
            chunk.Append(bytes.data(), bytes.size());
         } else {
            chunk.Append(value.data(), value.size());
         }
      }

      template <std::size_t... I>
      void AppendAll(std::index_sequence<I...>, const Columns &...values)
      {
         ((fFromLoop[I] ? Append(fChunks[I], values) : void()), ...);
      }

   public:
      RCollect(std::vector<RColumnChunk> &chunks, const std::vector<bool> &fromLoop, std::uint64_t skip,
               std::uint64_t take, bool abort)
         : fChunks(chunks), fFromLoop(fromLoop), fSkip(skip), fEnd(skip + take), fAbort(abort)
      {
      }
      std::uint64_t GetNumKept() const { return fSeen > fSkip ? std::min(fSeen, fEnd) - fSkip : 0; }
      std::uint64_t GetNumSeen() const { return fSeen; }
      void operator()(const Columns &...values)
      {
         const auto index = fSeen++;
         if (index < fSkip || index >= fEnd) {
            // RDataFrame prints a line when a loop is interrupted, so a loop bounded by a cluster is left to
            // run out; only an unbounded one is cut short.
            if (index >= fEnd && fAbort)
               throw RStopRequest{};
            return;
         }
         AppendAll(std::index_sequence_for<Columns...>{}, values...);
      }
   };

   /// Reads passing entries [first, first + count) of `unit` into `chunks` with one loop of graph `graph`.
   std::uint64_t ReadWithGraph(const RReadingUnit &unit, const RPassingMask &mask, std::uint64_t first,
                               std::uint64_t count, std::size_t graph, std::vector<RColumnChunk> &chunks)
   {
      const bool vector[] = {RVectorTraits<Columns>::kIsVector...};
      const std::size_t sizes[] = {NumberSize<Columns>()...};
      for (std::size_t c = 0; c < chunks.size(); ++c)
         chunks[c].Clear(vector[c], sizes[c]);
      // The loop's range: narrowed to the entries asked where the plan can tell their source entries.
      std::uint64_t begin = unit.fLoopBegin, end = unit.fLoopEnd, skip = first;
      const bool narrowed = unit.IsLoopSeekable(mask);
      if (narrowed) {
         begin = unit.fBegin + (unit.fFiltered ? mask.Select(first) : first);
         end = unit.fFiltered ? unit.fBegin + mask.Select(first + count - 1) + 1 : begin + count;
         skip = 0;
      }
      // The loop of the unit's last entries runs to its end, so that a filter passing more entries than
      // were counted is seen rather than cut to the count.
      const bool last = first + count >= unit.fCount;
      RCollect collect(chunks, fFromLoop, skip, count, unit.fWholeLoop && !last);
      try {
         fLoops.Run(unit, graph, begin, end, fColumns, collect);
      } catch (const RStopRequest &) {
      }
      const auto expected = narrowed ? count : unit.fCount;
      if ((narrowed || last) && collect.GetNumSeen() > expected)
         throw std::runtime_error("its filters passed " + std::to_string(collect.GetNumSeen() - expected) +
                                  " more entries than were counted when the loader was created; did the input "
                                  "files change, or does a Filter depend on more than the entry (a counter, a "
                                  "random number)?");
      return collect.GetNumKept();
   }

public:
   REventLoopReader(REventLoops<Columns...> &loops, const std::vector<std::string> &columns,
                    const std::vector<bool> &fromLoop)
      : fParts(1, std::vector<RColumnChunk>(sizeof...(Columns))),
        fLoops(loops),
        fColumns(columns),
        fFromLoop(fromLoop)
   {
   }

   /// Its threads are the dataframe's graphs.
   void SetThreads(std::size_t) final {}
   RColumnCursor GetCursor(std::size_t c) const final { return RColumnCursor(fParts[0][c]); }

   std::uint64_t Read(const RReadingUnit &unit, const RPassingMask &mask, std::uint64_t first, std::uint64_t count) final
   {
      const auto graphs = unit.IsLoopSeekable(mask) ? fLoops.GetNumGraphs(unit.fDataFrame) : 1;
      const auto parts = static_cast<std::size_t>(std::clamp<std::uint64_t>(count / kMinPartEntries, 1, graphs));
      if (parts == 1)
         return ReadWithGraph(unit, mask, first, count, 0, fParts[0]);
      if (fParts.size() < parts)
         fParts.resize(parts, std::vector<RColumnChunk>(sizeof...(Columns)));
      if (!fTeam || fTeam->GetSize() != parts)
         fTeam = std::make_unique<RThreadTeam>(parts);
      fTeam->Run([&](std::size_t p) {
         const auto begin = first + count * p / parts, end = first + count * (p + 1) / parts;
         // A part short of its entries would shift those of the parts after it.
         if (ReadWithGraph(unit, mask, begin, end - begin, p, fParts[p]) != end - begin)
            throw std::runtime_error("its event loop delivered fewer entries than were counted when the loader was "
                                     "created; did the input files change?");
      });
      for (std::size_t p = 1; p < parts; ++p)
         for (std::size_t c = 0; c < sizeof...(Columns); ++c)
            fParts[0][c].Append(fParts[p][c]);
      return count;
   }
};

/// \brief The source of the entries no file source reads: the event loops of their dataframes, over the
/// loaded columns (or, for RMixedSource, over its Defines only).
template <typename... Columns>
class REventLoopSource final : public RSource {
   REventLoops<Columns...> &fLoops;
   std::vector<std::string> fColumns;
   std::vector<bool> fFromLoop;

public:
   REventLoopSource(REventLoops<Columns...> &loops, std::vector<std::string> columns, std::vector<bool> fromLoop,
                    std::uint64_t entryBytes)
      : fLoops(loops), fColumns(std::move(columns)), fFromLoop(std::move(fromLoop))
   {
      fEntryBytes = entryBytes;
   }
   std::unique_ptr<RSourceReader> MakeReader() const final
   {
      return std::make_unique<REventLoopReader<Columns...>>(fLoops, fColumns, fFromLoop);
   }
   std::uint64_t GetNumEntries() const final { return 0; }
   const char *GetName() const final { return "event loop"; }
};

} // namespace Detail
} // namespace ML
} // namespace ROOT

#endif
