/// \file ROOT/ML/RBatch.hxx
/// \brief One batch: a single allocation holding the feature, target and weight tensors, and the
/// tensors of its object collections.

#ifndef ROOT_ML_RBatch
#define ROOT_ML_RBatch

#include "ROOT/ML/Detail/RReservedMemory.hxx"
#include "ROOT/ML/RDataLoaderOptions.hxx"
#include "ROOT/ML/RTensorView.hxx"

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <new>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace ROOT {
namespace ML {

/// The tensors of a batch, in the order they are returned to users.
enum class EBlock : int { kFeatures = 0, kTargets = 1, kWeights = 2 };

/// Size in bytes of one element of the given type.
inline std::size_t GetDTypeSize(EDType t)
{
   switch (t) {
   case EDType::kFloat64:
   case EDType::kInt64:
   case EDType::kUInt64: return 8;
   case EDType::kFloat32:
   case EDType::kInt32:
   case EDType::kUInt32: return 4;
   case EDType::kInt16:
   case EDType::kUInt16: return 2;
   case EDType::kInt8:
   case EDType::kUInt8:
   case EDType::kBool: return 1;
   }
   return 0;
}

/// Shape and type of one block of every batch a loader produces.
struct RBlockLayout {
   EDType fDType = EDType::kFloat32;
   std::size_t fWidth = 0; ///< Elements per row; 0 when the block is absent.
   std::size_t fRank = 2;  ///< 1 for class labels delivered as a plain vector.

   /// Bytes of one entry's row.
   std::size_t GetRowBytes() const { return fWidth * GetDTypeSize(fDType); }
};

/// Shape and type of one object collection of every batch a loader produces.
struct RCollectionLayout {
   std::string fName;
   ECollectionLayout fLayout = ECollectionLayout::kPadded;
   EDType fDType = EDType::kFloat32;
   std::size_t fNumFields = 0; ///< Values per object.
   std::size_t fMaxLength = 0; ///< Objects kept per entry.

   /// Bytes of one entry's objects, padded to fMaxLength (a packed collection's most).
   std::size_t GetObjectBytes() const { return fMaxLength * fNumFields * GetDTypeSize(fDType); }
   /// Bytes of one entry's mask (padded layout).
   std::size_t GetMaskBytes() const { return fMaxLength * sizeof(bool); }
};

/// The blocks of every batch, indexed by EBlock, and its object collections (if any).
struct RBatchLayout {
   std::array<RBlockLayout, 3> fBlocks;
   std::vector<RCollectionLayout> fCollections;

   RBlockLayout &operator[](std::size_t b) { return fBlocks[b]; }
   const RBlockLayout &operator[](std::size_t b) const { return fBlocks[b]; }

   /// Bytes of one entry in the blocks (features, targets, weights).
   std::size_t GetBlockBytes() const
   {
      std::size_t bytes = 0;
      for (const auto &block : fBlocks)
         bytes += block.GetRowBytes();
      return bytes;
   }
   /// Batch memory of one entry, at most: a packed collection takes only what its objects need, and an offset.
   std::size_t GetMaxRowBytes() const
   {
      std::size_t bytes = GetBlockBytes();
      for (const auto &c : fCollections)
         bytes += c.GetObjectBytes() + (c.fLayout == ECollectionLayout::kPacked ? sizeof(std::int64_t) : c.GetMaskBytes());
      return bytes;
   }
};

/// \brief A batch of entries, owning the memory its tensor views point to.
///
/// The memory is allocated once, written once by the loading thread before the batch is published,
/// and never reused: views (and the NumPy/torch arrays wrapping them) stay valid while the batch lives.
/// A packed collection, whose size is known only once all its rows are written, keeps its values in
/// a reservation of its own (see Detail::RReservedMemory); everything else shares the one allocation.
class RBatch {
   static constexpr std::size_t kAlignment = 64;
   struct RAlignedDelete {
      void operator()(std::byte *p) const { ::operator delete[](p, std::align_val_t{kAlignment}); }
   };
   /// Where the tensors of one collection lie.
   struct RCollectionMemory {
      std::size_t fValues = 0;         ///< Byte offset of a padded collection's values in fMemory.
      std::size_t fIndex = 0;          ///< Byte offset of its mask (padded) or of its offsets (packed).
      Detail::RReservedMemory fPacked; ///< The values of a packed collection.
   };

   RBatchLayout fLayout;
   std::size_t fRows = 0;
   std::array<std::size_t, 3> fOffsets{0, 0, 0};
   std::vector<RCollectionMemory> fCollections;
   std::unique_ptr<std::byte[], RAlignedDelete> fMemory;

   static std::size_t RoundUp(std::size_t n) { return (n + kAlignment - 1) / kAlignment * kAlignment; }

   const RCollectionMemory &GetCollectionMemory(std::size_t c) const
   {
      CheckCollection(c);
      return fCollections[c];
   }
   void CheckCollection(std::size_t c) const
   {
      if (c >= fCollections.size())
         throw std::out_of_range("ROOT::ML::RBatch: collection " + std::to_string(c) + " does not exist; the batch has " +
                                 std::to_string(fCollections.size()));
   }

public:
   RBatch(const RBatchLayout &layout, std::size_t rows) : fLayout(layout), fRows(rows)
   {
      std::size_t total = 0;
      for (std::size_t b = 0; b < fLayout.fBlocks.size(); ++b) {
         fOffsets[b] = total;
         total += RoundUp(fRows * fLayout[b].GetRowBytes());
      }
      for (const auto &c : fLayout.fCollections) {
         RCollectionMemory memory;
         const std::size_t values = fRows * c.GetObjectBytes();
         if (c.fLayout == ECollectionLayout::kPadded) {
            memory.fValues = total;
            total += RoundUp(values);
            memory.fIndex = total;
            total += RoundUp(fRows * c.GetMaskBytes());
         } else {
            memory.fIndex = total;
            total += RoundUp((fRows + 1) * sizeof(std::int64_t));
            memory.fPacked = Detail::RReservedMemory(values);
         }
         fCollections.push_back(std::move(memory));
      }
      fMemory.reset(static_cast<std::byte *>(::operator new[](total > 0 ? total : 1, std::align_val_t{kAlignment})));
      for (std::size_t c = 0; c < fCollections.size(); ++c)
         if (fLayout.fCollections[c].fLayout == ECollectionLayout::kPacked)
            GetOffsetsData(c)[0] = 0;
   }

   std::size_t GetNumRows() const { return fRows; }
   const RBlockLayout &GetLayout(EBlock b) const { return fLayout[static_cast<int>(b)]; }
   bool HasBlock(EBlock b) const { return GetLayout(b).fWidth > 0; }

   /// Address of row `row` of block `b`, for the loading thread and for language bindings.
   std::byte *GetRowAddress(EBlock b, std::size_t row) const
   {
      return fMemory.get() + fOffsets[static_cast<int>(b)] + row * GetLayout(b).GetRowBytes();
   }
   /// Address of block `b` as an integer, which Python wraps without copying.
   std::uintptr_t GetAddress(EBlock b) const { return reinterpret_cast<std::uintptr_t>(GetRowAddress(b, 0)); }

   /// Typed view of one block; T must match the block's EDType in size.
   template <typename T>
   RTensorView<T> GetView(EBlock b) const
   {
      const auto &l = GetLayout(b);
      if (sizeof(T) != GetDTypeSize(l.fDType))
         throw std::invalid_argument("ROOT::ML::RBatch: element type of size " + std::to_string(sizeof(T)) +
                                     " does not match the block's dtype; set RDataLoaderOptions::fDTypes accordingly");
      return RTensorView<T>(reinterpret_cast<T *>(GetRowAddress(b, 0)), fRows, l.fWidth, l.fRank);
   }
   template <typename T = float>
   RTensorView<T> GetFeatures() const { return GetView<T>(EBlock::kFeatures); }
   template <typename T = float>
   RTensorView<T> GetTargets() const { return GetView<T>(EBlock::kTargets); }
   template <typename T = float>
   RTensorView<T> GetWeights() const { return GetView<T>(EBlock::kWeights); }

   std::size_t GetNumCollections() const { return fCollections.size(); }
   const RCollectionLayout &GetCollectionLayout(std::size_t c) const
   {
      CheckCollection(c);
      return fLayout.fCollections[c];
   }
   /// Index of the collection called `name` (the order of RDataLoaderOptions::fCollections).
   std::size_t GetCollectionIndex(const std::string &name) const
   {
      for (std::size_t c = 0; c < fLayout.fCollections.size(); ++c)
         if (fLayout.fCollections[c].fName == name)
            return c;
      throw std::out_of_range("ROOT::ML::RBatch: no collection named '" + name + "'");
   }
   /// The first value of collection `c`: objects follow each other, each with its fields side by side.
   std::byte *GetObjectsData(std::size_t c) const
   {
      const auto &memory = GetCollectionMemory(c);
      return fLayout.fCollections[c].fLayout == ECollectionLayout::kPacked ? memory.fPacked.GetData()
                                                                           : fMemory.get() + memory.fValues;
   }
   /// The (rows x maximum length) mask of a padded collection: true where an object is real.
   bool *GetMaskData(std::size_t c) const
   {
      return reinterpret_cast<bool *>(fMemory.get() + GetCollectionMemory(c).fIndex);
   }
   /// The rows + 1 offsets of a packed collection: row r holds objects [offsets[r], offsets[r + 1]).
   std::int64_t *GetOffsetsData(std::size_t c) const
   {
      return reinterpret_cast<std::int64_t *>(fMemory.get() + GetCollectionMemory(c).fIndex);
   }
   /// Objects stored for collection `c`: rows x maximum length slots when padded, the real ones when packed.
   std::size_t GetNumObjects(std::size_t c) const
   {
      const auto &l = GetCollectionLayout(c);
      return l.fLayout == ECollectionLayout::kPacked ? static_cast<std::size_t>(GetOffsetsData(c)[fRows])
                                                     : fRows * l.fMaxLength;
   }
   /// Addresses as integers, which Python wraps without copying.
   std::uintptr_t GetObjectsAddress(std::size_t c) const { return reinterpret_cast<std::uintptr_t>(GetObjectsData(c)); }
   std::uintptr_t GetMaskAddress(std::size_t c) const { return reinterpret_cast<std::uintptr_t>(GetMaskData(c)); }
   std::uintptr_t GetOffsetsAddress(std::size_t c) const { return reinterpret_cast<std::uintptr_t>(GetOffsetsData(c)); }

   /// The values of collection `c` as (objects, fields): in a padded collection, row r owns objects
   /// [r * maximum length, (r + 1) * maximum length), of which GetCollectionMask() tells the real ones.
   template <typename T = float>
   RTensorView<T> GetCollection(std::size_t c) const
   {
      const auto &l = GetCollectionLayout(c);
      if (sizeof(T) != GetDTypeSize(l.fDType))
         throw std::invalid_argument("ROOT::ML::RBatch: element type of size " + std::to_string(sizeof(T)) +
                                     " does not match the dtype of collection '" + l.fName +
                                     "'; set RCollectionOptions::fDType accordingly");
      return RTensorView<T>(reinterpret_cast<T *>(GetObjectsData(c)), GetNumObjects(c), l.fNumFields);
   }
   /// The (rows, maximum length) mask of a padded collection.
   RTensorView<bool> GetCollectionMask(std::size_t c) const
   {
      const auto &l = GetCollectionLayout(c);
      if (l.fLayout != ECollectionLayout::kPadded)
         throw std::logic_error("ROOT::ML::RBatch: collection '" + l.fName + "' is packed: it has offsets, not a mask");
      return RTensorView<bool>(GetMaskData(c), fRows, l.fMaxLength);
   }
   /// The rows + 1 offsets of a packed collection, as a vector.
   RTensorView<std::int64_t> GetCollectionOffsets(std::size_t c) const
   {
      const auto &l = GetCollectionLayout(c);
      if (l.fLayout != ECollectionLayout::kPacked)
         throw std::logic_error("ROOT::ML::RBatch: collection '" + l.fName + "' is padded: it has a mask, not offsets");
      return RTensorView<std::int64_t>(GetOffsetsData(c), fRows + 1, 1, 1);
   }
};

} // namespace ML
} // namespace ROOT

#endif
