/// \file ROOT/ML/RBatch.hxx
/// \brief One batch: a single allocation holding the feature, target and weight tensors.

#ifndef ROOT_ML_RBatch
#define ROOT_ML_RBatch

#include "ROOT/ML/RDataLoaderOptions.hxx"
#include "ROOT/ML/RTensorView.hxx"

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <new>
#include <stdexcept>
#include <string>

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
};

using RBatchLayout = std::array<RBlockLayout, 3>;

/// \brief A batch of entries, owning the memory its tensor views point to.
///
/// The memory is allocated once, written once by the loading thread before the batch is published,
/// and never reused: views (and the NumPy/torch arrays wrapping them) stay valid while the batch lives.
class RBatch {
   static constexpr std::size_t kAlignment = 64;
   struct RAlignedDelete {
      void operator()(std::byte *p) const { ::operator delete[](p, std::align_val_t{kAlignment}); }
   };

   RBatchLayout fLayout;
   std::size_t fRows = 0;
   std::array<std::size_t, 3> fOffsets{0, 0, 0};
   std::unique_ptr<std::byte[], RAlignedDelete> fMemory;

   static std::size_t RoundUp(std::size_t n) { return (n + kAlignment - 1) / kAlignment * kAlignment; }

public:
   RBatch(const RBatchLayout &layout, std::size_t rows) : fLayout(layout), fRows(rows)
   {
      std::size_t total = 0;
      for (std::size_t b = 0; b < fLayout.size(); ++b) {
         fOffsets[b] = total;
         total += RoundUp(fRows * fLayout[b].fWidth * GetDTypeSize(fLayout[b].fDType));
      }
      fMemory.reset(static_cast<std::byte *>(::operator new[](total > 0 ? total : 1, std::align_val_t{kAlignment})));
   }

   std::size_t GetNumRows() const { return fRows; }
   const RBlockLayout &GetLayout(EBlock b) const { return fLayout[static_cast<int>(b)]; }
   bool HasBlock(EBlock b) const { return GetLayout(b).fWidth > 0; }

   /// Address of row `row` of block `b`, for the loading thread and for language bindings.
   std::byte *GetRowAddress(EBlock b, std::size_t row) const
   {
      const auto &l = GetLayout(b);
      return fMemory.get() + fOffsets[static_cast<int>(b)] + row * l.fWidth * GetDTypeSize(l.fDType);
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
};

} // namespace ML
} // namespace ROOT

#endif
