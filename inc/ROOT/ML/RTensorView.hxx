/// \file ROOT/ML/RTensorView.hxx
/// \brief Non-owning, row-major view of a batch tensor.

#ifndef ROOT_ML_RTensorView
#define ROOT_ML_RTensorView

#include <array>
#include <cstddef>
#include <stdexcept>
#include <string>

namespace ROOT {
namespace ML {

/// \brief A view of at most two dimensions: data pointer, shape and strides (in elements).
///
/// The view never owns its memory: it stays valid as long as the RBatch it came from is alive.
/// One-dimensional views (class labels) have GetRank() == 1 and shape {rows, 1}.
/// \tparam T element type
template <typename T>
class RTensorView {
   T *fData = nullptr;
   std::array<std::size_t, 2> fShape{0, 0};
   std::array<std::size_t, 2> fStrides{0, 0};
   std::size_t fRank = 2;

public:
   RTensorView() = default;
   RTensorView(T *data, std::size_t rows, std::size_t cols, std::size_t rank = 2)
      : fData(data), fShape{rows, cols}, fStrides{cols, 1}, fRank(rank)
   {
   }

   T *GetData() const { return fData; }
   const std::array<std::size_t, 2> &GetShape() const { return fShape; }
   const std::array<std::size_t, 2> &GetStrides() const { return fStrides; }
   std::size_t GetRank() const { return fRank; }
   std::size_t GetSize() const { return fShape[0] * fShape[1]; }

   /// Element (row, col), unchecked.
   T &operator()(std::size_t row, std::size_t col = 0) const { return fData[row * fStrides[0] + col * fStrides[1]]; }

   /// Element (row, col), bounds-checked.
   T &At(std::size_t row, std::size_t col = 0) const
   {
      if (row >= fShape[0] || col >= fShape[1])
         throw std::out_of_range("ROOT::ML::RTensorView: element (" + std::to_string(row) + ", " +
                                 std::to_string(col) + ") outside shape (" + std::to_string(fShape[0]) + ", " +
                                 std::to_string(fShape[1]) + ")");
      return (*this)(row, col);
   }
};

} // namespace ML
} // namespace ROOT

#endif
