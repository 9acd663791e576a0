/// \file ROOT/ML/Detail/RBatchWriter.hxx
/// \brief Copies decoded entries into their places in batches: the loader's one copy of each value.

#ifndef ROOT_ML_Detail_RBatchWriter
#define ROOT_ML_Detail_RBatchWriter

#include "ROOT/ML/Detail/RColumnChunk.hxx"
#include "ROOT/ML/Detail/RColumnTable.hxx"
#include "ROOT/ML/Detail/RShuffleBuffer.hxx"

#include <array>
#include <cstddef>
#include <cstdint>
#include <utility>
#include <vector>

namespace ROOT {
namespace ML {
namespace Detail {

/// \brief Writes entries, read through column cursors, to their destinations in batches. One per reading
/// thread: the collections it writes keep a count of their truncated objects, summed over the threads.
template <typename... Columns>
class RBatchWriter {
   using RCursors = std::array<RColumnCursor, sizeof...(Columns)>;
   static constexpr auto kColumns = std::index_sequence_for<Columns...>{};
   /// Entries copied column by column at a time: their rows stay in cache while each column is written.
   static constexpr std::uint64_t kChunk = 4096;

   const RColumnTable &fTable;
   RCollectionWriter fCollections;
   std::vector<RRowAddresses> fRows; ///< Scratch: the rows of a chunk of entries.

   static RRowAddresses RowsOf(const RDestination &destination)
   {
      const auto &batch = *destination.fBatch;
      const auto row = destination.fRow;
      return {batch.GetRowAddress(EBlock::kFeatures, row), batch.GetRowAddress(EBlock::kTargets, row),
              batch.GetRowAddress(EBlock::kWeights, row)};
   }

   template <std::size_t... I>
   void WriteFlat(const RRowAddresses &rows, std::index_sequence<I...>, const Columns &...values) const
   {
      // Braced lists rather than fold expressions: folds nest, and compilers cap the nesting.
      const int expand[] = {(WriteColumn(fTable.GetSlot(I), rows, values), 0)...};
      static_cast<void>(expand);
      const auto &classWeights = fTable.GetClassWeights();
      if (classWeights.IsActive()) {
         const auto weightColumn = fTable.GetWeightColumn();
         const double eventWeight = weightColumn == RColumnTable::kNoColumn ? 1. : ScalarAt(weightColumn, values...);
         const auto bin = classWeights.BinOf([&](std::size_t c) { return ScalarAt(c, values...); });
         classWeights.Write(rows, ScalarAt(fTable.GetLabelColumn(), values...), eventWeight, bin);
      }
   }

   /// Writes the next `n` values of a column to `rows` (all null for an entry that is dropped).
   template <typename T>
   static void ScatterColumn(RColumnCursor &cursor, const RColumnSlot &slot, const RRowAddresses *rows, std::uint64_t n)
   {
      if constexpr (RVectorTraits<T>::kIsVector) {
         for (std::uint64_t j = 0; j < n; ++j) {
            const auto value = cursor.Next<T>();
            if (rows[j][static_cast<int>(slot.fBlock)])
               WriteColumn(slot, rows[j], value);
         }
      } else {
         Scatter<T>(cursor.NextRun<T>(n), n, rows, slot);
      }
   }

   template <std::size_t... I>
   void WriteChunk(RCursors &cursors, std::uint64_t n, std::index_sequence<I...>)
   {
      const int expand[] = {(ScatterColumn<Columns>(cursors[I], fTable.GetSlot(I), fRows.data(), n), 0)...};
      static_cast<void>(expand);
   }

   template <typename Visit, std::size_t... I>
   static void Expand(RCursors &cursors, Visit &&visit, std::index_sequence<I...>)
   {
      visit(cursors[I].template Next<Columns>()...);
   }

public:
   explicit RBatchWriter(const RColumnTable &table) : fTable(table), fCollections(table.GetCollections()) {}

   /// The value of scalar column `column` of an entry.
   static double ScalarAt(std::size_t column, const Columns &...values)
   {
      std::size_t i = 0;
      double value = 0.;
      const int pick[] = {(i++ == column ? (value = ScalarValue(values), 0) : 0)...};
      static_cast<void>(pick);
      return value;
   }

   /// Whether WriteColumns() may write entries: each is written from its own values alone, column by column.
   bool IsColumnar() const { return fCollections.IsEmpty() && !fTable.GetClassWeights().IsActive(); }

   /// Collections' error messages name the entries from now on as those of `slice` of `unit`.
   void BeginSlice(const RReadingUnit &unit, const RUnitSlice &slice) { fCollections.BeginSlice(unit, slice); }

   /// Writes one entry at `destination`; for an entry the epoch drops (no batch), only checks its collections.
   void Write(const RDestination &destination, const Columns &...values)
   {
      if (destination.fBatch)
         WriteFlat(RowsOf(destination), kColumns, values...);
      if (!fCollections.IsEmpty())
         fCollections.Write(destination.fBatch, destination.fRow, values...);
   }

   /// Calls visit(values...) with the next entry of the cursors.
   template <typename Visit>
   static void VisitNext(RCursors &cursors, Visit &&visit)
   {
      Expand(cursors, std::forward<Visit>(visit), kColumns);
   }

   /// Writes the next `n` entries of the cursors to `destinations`: column by column where IsColumnar(),
   /// which costs a load and a store per value, entry by entry otherwise.
   void WriteEntries(RCursors &cursors, const RDestination *destinations, std::uint64_t n)
   {
      if (!IsColumnar()) {
         for (std::uint64_t j = 0; j < n; ++j)
            VisitNext(cursors, [&](const Columns &...values) { Write(destinations[j], values...); });
         return;
      }
      fRows.resize(kChunk);
      for (std::uint64_t done = 0; done < n;) {
         const auto chunk = std::min(kChunk, n - done);
         for (std::uint64_t j = 0; j < chunk; ++j)
            fRows[j] = destinations[done + j].fBatch ? RowsOf(destinations[done + j]) : RRowAddresses{};
         WriteChunk(cursors, chunk, kColumns);
         done += chunk;
      }
   }

   /// Objects beyond the maximum length, per collection, in the entries this writer delivered.
   const std::vector<std::uint64_t> &GetNumTruncated() const { return fCollections.GetNumTruncated(); }
};

} // namespace Detail
} // namespace ML
} // namespace ROOT

#endif
