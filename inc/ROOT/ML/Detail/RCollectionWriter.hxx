/// \file ROOT/ML/Detail/RCollectionWriter.hxx
/// \brief Copies the object collections of each entry into its batch row: checked, ordered, truncated.

#ifndef ROOT_ML_Detail_RCollectionWriter
#define ROOT_ML_Detail_RCollectionWriter

#include "ROOT/ML/Detail/RColumnWriter.hxx"
#include "ROOT/ML/Detail/RReadingPlan.hxx"
#include "ROOT/ML/RBatch.hxx"
#include "ROOT/ML/RDataLoaderOptions.hxx"

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <numeric>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace ROOT {
namespace ML {
namespace Detail {

/// \brief Writes the collections (RDataLoaderOptions::fCollections) of each entry into its batch row.
///
/// Two passes over the column pack per entry: the first checks that the fields of each collection hold
/// one value per object and reads the sort key; the objects are then ordered (largest key first, stable,
/// NaN last) and truncated to the maximum length; the second pass stores every kept value once,
/// converted to the collection's dtype. A padded row then gets its mask, a packed row its end offset,
/// which is where the next row of the same batch starts: rows of a batch are written in order.
class RCollectionWriter {
   static constexpr std::size_t kNone = static_cast<std::size_t>(-1);

   /// What one column of the pack is to the collections.
   struct RRole {
      std::size_t fCollection = kNone;
      std::size_t fField = kNone; ///< Position among the collection's fields; kNone for a column read only as key.
      bool fIsKey = false;
   };
   /// The entry being written, per collection.
   struct REntry {
      std::size_t fLength = 0;
      std::size_t fLengthColumn = kNone; ///< The column fLength was taken from, for messages.
      std::size_t fKept = 0;
      bool fSorted = false;
      std::vector<double> fKeys;
      std::vector<std::uint32_t> fOrder;
   };

   std::vector<RCollectionLayout> fLayouts;
   std::vector<bool> fHasKey;
   std::vector<std::string> fColumnNames;
   std::vector<RRole> fRoles;
   std::vector<RColumnSlot> fSlots; ///< Name and dtype of each column, for the conversion of its values.
   double fPadding = 0.;
   std::vector<REntry> fEntries;
   std::vector<std::uint64_t> fTruncated;

   // Where the entry being written comes from, for messages.
   std::uint64_t fFirst = 0;    ///< Entry number of the slice's first entry, or its index among passing entries.
   bool fFiltered = false;      ///< Whether fFirst counts passing entries rather than entries.
   std::uint64_t fPosition = 0; ///< Entries of the slice seen so far.

   std::string Where() const
   {
      const auto index = std::to_string(fFirst + fPosition);
      return fFiltered ? "entry number " + index + " among the entries of this range that pass the dataframe's filters"
                       : "entry " + index;
   }

   template <typename T>
   void InspectColumn(std::size_t column, const T &value)
   {
      if constexpr (RVectorTraits<T>::kIsVector) {
         const auto &role = fRoles[column];
         if (role.fCollection == kNone)
            return;
         auto &entry = fEntries[role.fCollection];
         if (entry.fLengthColumn == kNone) {
            entry.fLength = value.size();
            entry.fLengthColumn = column;
         } else if (value.size() != entry.fLength) {
            throw std::length_error("ROOT::ML::RDataLoader: collection '" + fLayouts[role.fCollection].fName + "': " +
                                    Where() + " has " + std::to_string(entry.fLength) + " values in column '" +
                                    fColumnNames[entry.fLengthColumn] + "' but " + std::to_string(value.size()) +
                                    " in column '" + fColumnNames[column] +
                                    "'; the fields of a collection need one value per object");
         }
         if (role.fIsKey) {
            entry.fKeys.resize(value.size());
            for (std::size_t i = 0; i < value.size(); ++i)
               entry.fKeys[i] = static_cast<double>(value[i]);
         }
      } else {
         static_cast<void>(column);
         static_cast<void>(value);
      }
   }

   template <std::size_t... I, typename... Columns>
   void Inspect(std::index_sequence<I...>, const Columns &...values)
   {
      for (auto &entry : fEntries)
         entry.fLengthColumn = kNone;
      // A braced list rather than a fold expression, as in RDataLoader: folds nest too deep for wide packs.
      const int expand[] = {(InspectColumn(I, values), 0)...};
      static_cast<void>(expand);
   }

   /// Chooses the objects each collection keeps, in the order they are stored.
   void Order(bool delivered)
   {
      for (std::size_t c = 0; c < fEntries.size(); ++c) {
         auto &entry = fEntries[c];
         entry.fKept = std::min(entry.fLength, fLayouts[c].fMaxLength);
         entry.fSorted = delivered && fHasKey[c] && entry.fLength > 1;
         if (!delivered)
            continue;
         fTruncated[c] += entry.fLength - entry.fKept;
         if (!entry.fSorted)
            continue;
         const auto &keys = entry.fKeys;
         entry.fOrder.resize(entry.fLength);
         std::iota(entry.fOrder.begin(), entry.fOrder.end(), 0u);
         // Largest first; NaN compares as the smallest value so that the order stays strict and weak.
         std::stable_sort(entry.fOrder.begin(), entry.fOrder.end(), [&keys](std::uint32_t a, std::uint32_t b) {
            return keys[a] > keys[b] || (std::isnan(keys[b]) && !std::isnan(keys[a]));
         });
      }
   }

   template <typename T>
   void StoreColumn(const RBatch &batch, std::size_t row, std::size_t column, const T &value)
   {
      if constexpr (RVectorTraits<T>::kIsVector) {
         using Element_t = typename RVectorTraits<T>::Element_t;
         const auto &role = fRoles[column];
         if (role.fField == kNone)
            return;
         const auto &layout = fLayouts[role.fCollection];
         const auto &entry = fEntries[role.fCollection];
         const auto &slot = fSlots[column];
         const std::size_t size = GetDTypeSize(layout.fDType);
         const std::size_t stride = layout.fNumFields * size;
         const bool packed = layout.fLayout == ECollectionLayout::kPacked;
         const std::size_t first = packed ? static_cast<std::size_t>(batch.GetOffsetsData(role.fCollection)[row])
                                          : row * layout.fMaxLength;
         std::byte *dst = batch.GetObjectsData(role.fCollection) + first * stride + role.fField * size;
         for (std::size_t j = 0; j < entry.fKept; ++j, dst += stride)
            Store(dst, static_cast<Element_t>(value[entry.fSorted ? entry.fOrder[j] : j]), slot);
         if (!packed)
            for (std::size_t j = entry.fKept; j < layout.fMaxLength; ++j, dst += stride)
               Store(dst, fPadding, slot);
      } else {
         static_cast<void>(batch);
         static_cast<void>(row);
         static_cast<void>(column);
         static_cast<void>(value);
      }
   }

   template <std::size_t... I, typename... Columns>
   void StoreAll(const RBatch &batch, std::size_t row, std::index_sequence<I...>, const Columns &...values)
   {
      const int expand[] = {(StoreColumn(batch, row, I, values), 0)...};
      static_cast<void>(expand);
   }

   /// The mask of a padded row, the end offset of a packed one.
   void CloseRow(const RBatch &batch, std::size_t row)
   {
      for (std::size_t c = 0; c < fEntries.size(); ++c) {
         const auto kept = fEntries[c].fKept;
         if (fLayouts[c].fLayout == ECollectionLayout::kPacked) {
            auto *offsets = batch.GetOffsetsData(c);
            offsets[row + 1] = offsets[row] + static_cast<std::int64_t>(kept);
         } else {
            const auto length = fLayouts[c].fMaxLength;
            bool *mask = batch.GetMaskData(c) + row * length;
            std::fill(mask, mask + kept, true);
            std::fill(mask + kept, mask + length, false);
         }
      }
   }

public:
   /// A writer with no collections.
   RCollectionWriter() = default;

   /// \param isVector whether each column holds vectors
   /// \throws std::invalid_argument for collections that the columns cannot form
   RCollectionWriter(const RDataLoaderOptions &options, const std::vector<std::string> &columns,
                     const std::vector<bool> &isVector)
      : fColumnNames(columns), fRoles(columns.size()), fSlots(columns.size()), fPadding(options.fVecPadding)
   {
      const std::string where = "ROOT::ML::RDataLoader: ";
      auto indexOf = [&](const std::string &collection, const std::string &column) {
         const auto found = std::find(columns.begin(), columns.end(), column);
         if (found == columns.end())
            throw std::invalid_argument(where + "collection '" + collection + "' names column '" + column +
                                        "', which is not among the columns");
         const auto index = static_cast<std::size_t>(found - columns.begin());
         if (!isVector[index])
            throw std::invalid_argument(where + "collection '" + collection + "' names column '" + column +
                                        "', which is not a vector column: a collection holds one value per object");
         if (fRoles[index].fCollection != kNone)
            throw std::invalid_argument(where + "column '" + column + "' is named twice by the collections");
         if (column == options.fWeights ||
             std::find(options.fTargets.begin(), options.fTargets.end(), column) != options.fTargets.end())
            throw std::invalid_argument(where + "column '" + column + "' of collection '" + collection +
                                        "' cannot also be a target or the weights");
         return index;
      };
      for (std::size_t c = 0; c < options.fCollections.size(); ++c) {
         const auto &spec = options.fCollections[c];
         if (spec.fName.empty())
            throw std::invalid_argument(where + "collection " + std::to_string(c) + " has no name");
         for (std::size_t d = 0; d < c; ++d)
            if (options.fCollections[d].fName == spec.fName)
               throw std::invalid_argument(where + "two collections are called '" + spec.fName + "'");
         if (spec.fFields.empty())
            throw std::invalid_argument(where + "collection '" + spec.fName + "' has no fields");
         if (spec.fMaxLength == 0)
            throw std::invalid_argument(where + "collection '" + spec.fName + "' needs a positive fMaxLength");
         for (std::size_t f = 0; f < spec.fFields.size(); ++f) {
            const auto index = indexOf(spec.fName, spec.fFields[f]);
            fRoles[index] = {c, f, spec.fFields[f] == spec.fSortBy};
            fSlots[index].fName = spec.fFields[f];
            fSlots[index].fDType = spec.fDType;
         }
         const bool keyIsField =
            std::find(spec.fFields.begin(), spec.fFields.end(), spec.fSortBy) != spec.fFields.end();
         if (!spec.fSortBy.empty() && !keyIsField)
            fRoles[indexOf(spec.fName, spec.fSortBy)] = {c, kNone, true};
         fLayouts.push_back({spec.fName, spec.fLayout, spec.fDType, spec.fFields.size(), spec.fMaxLength});
         fHasKey.push_back(!spec.fSortBy.empty());
      }
      fEntries.resize(fLayouts.size());
      fTruncated.assign(fLayouts.size(), 0);
   }

   bool IsEmpty() const { return fLayouts.empty(); }
   /// Whether column `column` is read for a collection (and so is not a flat feature).
   bool Reads(std::size_t column) const { return column < fRoles.size() && fRoles[column].fCollection != kNone; }
   const std::vector<RCollectionLayout> &GetLayouts() const { return fLayouts; }
   /// Objects beyond the maximum length, per collection, in the entries delivered so far.
   const std::vector<std::uint64_t> &GetNumTruncated() const { return fTruncated; }

   /// Entries from now on come from `slice` of `unit`; this only serves error messages.
   void BeginSlice(const RReadingUnit &unit, const RUnitSlice &slice)
   {
      fFiltered = unit.fFiltered;
      fFirst = unit.fFiltered ? slice.fSkip : unit.fBegin + slice.fSkip;
      fPosition = 0;
   }

   /// Writes the collections of one entry into row `row` of `batch`; with no batch (an entry that the
   /// epoch drops) only checks them.
   template <typename... Columns>
   void Write(const RBatch *batch, std::size_t row, const Columns &...values)
   {
      Inspect(std::index_sequence_for<Columns...>{}, values...);
      Order(batch != nullptr);
      if (batch) {
         StoreAll(*batch, row, std::index_sequence_for<Columns...>{}, values...);
         CloseRow(*batch, row);
      }
      ++fPosition;
   }
};

} // namespace Detail
} // namespace ML
} // namespace ROOT

#endif
