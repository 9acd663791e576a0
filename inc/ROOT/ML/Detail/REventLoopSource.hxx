/// \file ROOT/ML/Detail/REventLoopSource.hxx
/// \brief The source of what no other source reads: RDataFrame's own event loop (Defines, friends, ...).

#ifndef ROOT_ML_Detail_REventLoopSource
#define ROOT_ML_Detail_REventLoopSource

#include "ROOT/ML/Detail/RDataSourceAccess.hxx"
#include "ROOT/ML/Detail/RDeferredForeach.hxx"
#include "ROOT/ML/Detail/RReadingPlan.hxx"
#include "ROOT/ML/Detail/RSource.hxx"

#include <ROOT/RDataFrame.hxx>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <type_traits>
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

/// \brief The event loops of a loader's dataframes: the typed Foreach over the loaded columns, run under the
/// lock of each dataframe's computation graph, which runs one loop at a time (epochs of both splits, and other
/// loaders over nodes of the same RDataFrame, may be reading).
template <typename... Columns>
class REventLoops {
   std::vector<ROOT::RDF::RNode> fNodes; ///< Per dataframe; copies, to which placeholder columns are added.
   RDeferredForeach<Columns...> fForeach;
   std::mutex fCompiling; ///< Not std::call_once, whose thread-local state cling cannot link.
   std::vector<std::mutex *> fLocks; ///< Per dataframe, the lock of its graph's loop (GetEventLoopLock()).

   static std::string PlaceholderName(std::size_t c) { return "rdataloader_placeholder_" + std::to_string(c); }

   template <std::size_t... I>
   void DefinePlaceholders(ROOT::RDF::RNode &node, std::index_sequence<I...>)
   {
      ((node = node.Define(PlaceholderName(I), RPlaceholder<Columns>{})), ...);
   }

public:
   explicit REventLoops(const std::vector<ROOT::RDF::RNode> &nodes) : fNodes(nodes)
   {
      for (const auto &node : nodes)
         fLocks.push_back(&GetEventLoopLock(node));
   }

   /// The columns a loop over dataframe `d` reads to compute only those c with fromLoop[c]: the others are
   /// replaced by placeholders, Defines of a default value that read no branch. Not thread-safe: call before
   /// any loop runs.
   std::vector<std::string>
   WithPlaceholders(std::size_t d, std::vector<std::string> columns, const std::vector<bool> &fromLoop)
   {
      DefinePlaceholders(fNodes[d], std::index_sequence_for<Columns...>{});
      for (std::size_t c = 0; c < columns.size(); ++c)
         if (!fromLoop[c])
            columns[c] = PlaceholderName(c);
      return columns;
   }

   /// Runs the event loop of `unit`'s dataframe over the loop range [loopBegin, loopEnd) (the whole
   /// dataframe for a whole-loop unit), calling action(values...) of `columns` for every entry that passes
   /// its filters.
   template <typename Action>
   void Run(const RReadingUnit &unit, std::uint64_t loopBegin, std::uint64_t loopEnd,
            const std::vector<std::string> &columns, Action &action)
   {
      std::lock_guard<std::mutex> lock(*fLocks[unit.fDataFrame]);
      {
         std::lock_guard<std::mutex> compiling(fCompiling);
         fForeach.Compile();
      }
      auto &node = fNodes[unit.fDataFrame];
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
template <typename... Columns>
class REventLoopReader final : public RSourceReader {
   std::vector<RColumnChunk> fChunks; ///< Per column, for the entries read last.
   REventLoops<Columns...> &fLoops;
   const std::vector<std::string> &fColumns; ///< Read by the loop, placeholders where !fFromLoop.
   const std::vector<bool> &fFromLoop;       ///< Per column, whether the loop delivers it.

   /// The typed entries of one loop, kept from the `skip`-th passing entry to the `skip + take`-th.
   class RCollect {
      REventLoopReader &fReader;
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
         ((fReader.fFromLoop[I] ? Append(fReader.fChunks[I], values) : void()), ...);
      }

   public:
      RCollect(REventLoopReader &reader, std::uint64_t skip, std::uint64_t take, bool abort)
         : fReader(reader), fSkip(skip), fEnd(skip + take), fAbort(abort)
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

public:
   REventLoopReader(REventLoops<Columns...> &loops, const std::vector<std::string> &columns,
                    const std::vector<bool> &fromLoop)
      : fChunks(sizeof...(Columns)), fLoops(loops), fColumns(columns), fFromLoop(fromLoop)
   {
   }

   /// An event loop is one thread.
   void SetThreads(std::size_t) final {}
   RColumnCursor GetCursor(std::size_t c) const final { return RColumnCursor(fChunks[c]); }

   std::uint64_t Read(const RReadingUnit &unit, const RPassingMask &mask, std::uint64_t first, std::uint64_t count) final
   {
      const bool vector[] = {RVectorTraits<Columns>::kIsVector...};
      const std::size_t sizes[] = {NumberSize<Columns>()...};
      for (std::size_t c = 0; c < fChunks.size(); ++c)
         fChunks[c].Clear(vector[c], sizes[c]);
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
      RCollect collect(*this, skip, count, unit.fWholeLoop && !last);
      try {
         fLoops.Run(unit, begin, end, fColumns, collect);
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
