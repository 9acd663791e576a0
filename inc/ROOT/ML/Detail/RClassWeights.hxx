/// \file ROOT/ML/Detail/RClassWeights.hxx
/// \brief Per-entry weights from the class of the entry's label, for imbalanced classification.

#ifndef ROOT_ML_Detail_RClassWeights
#define ROOT_ML_Detail_RClassWeights

#include "ROOT/ML/Detail/RColumnWriter.hxx"
#include "ROOT/ML/RDataLoaderOptions.hxx"

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <map>
#include <stdexcept>
#include <string>

namespace ROOT {
namespace ML {
namespace Detail {

/// The value of a scalar column as a double; not-a-number for vectors, which cannot be class labels.
template <typename T>
double ScalarValue(const T &value)
{
   if constexpr (RVectorTraits<T>::kIsVector)
      return std::nan("");
   else
      return static_cast<double>(value);
}

/// The class a label value stands for; labels must be whole numbers.
inline std::int64_t ClassOf(double label)
{
   if (!(std::floor(label) == label) || std::abs(label) > 9.0e15)
      throw std::invalid_argument("ROOT::ML::RDataLoader: class weights need whole-number labels; got " +
                                  std::to_string(label));
   return static_cast<std::int64_t>(label);
}

/// The class weights `options` ask for: balanced from the class counts of the training split, or the given
/// ones, which must weigh every class of both splits (refused here rather than at the first batch with it).
inline std::map<std::int64_t, double> ChooseClassWeights(const RDataLoaderOptions &options,
                                                         const std::map<std::int64_t, std::uint64_t> &train,
                                                         const std::map<std::int64_t, std::uint64_t> &validation)
{
   const std::string where = "ROOT::ML::RDataLoader: ";
   if (!options.fBalanceClasses) {
      auto present = train;
      present.insert(validation.begin(), validation.end());
      std::string labels, example;
      std::size_t missing = 0;
      for (const auto &[label, n] : present)
         if (options.fClassWeights.count(label) == 0) {
            labels += (labels.empty() ? "" : ", ") + std::to_string(label);
            example += (example.empty() ? "" : ", ") + std::to_string(label) + ": 1.0";
            ++missing;
         }
      if (missing > 0)
         throw std::invalid_argument(where + "the class weights give no weight to class" +
                                     (missing > 1 ? "es " : " ") + labels +
                                     ", present in the data; give every class a weight (for example {" + example +
                                     "}) or balance the classes (class_weights='balanced', fBalanceClasses)");
      return options.fClassWeights;
   }
   if (train.empty())
      throw std::invalid_argument(where + "balanced class weights weigh the classes of the training split, which "
                                          "has no entries (after filters); give the weights, or check the Filters");
   std::uint64_t total = 0;
   for (const auto &[label, n] : train)
      total += n;
   std::map<std::int64_t, double> weights;
   for (const auto &[label, n] : train)
      weights[label] = static_cast<double>(total) / static_cast<double>(train.size() * n);
   return weights;
}

/// \brief Writes weight(class of label) x event weight into the weights tensor of each entry.
class RClassWeights {
   std::map<std::int64_t, double> fWeights;
   RColumnSlot fSlot; ///< The weights tensor's only element.

public:
   RClassWeights() = default;
   explicit RClassWeights(EDType dtype)
   {
      fSlot.fName = "class weight";
      fSlot.fBlock = EBlock::kWeights;
      fSlot.fDType = dtype;
   }

   void SetWeights(std::map<std::int64_t, double> weights) { fWeights = std::move(weights); }
   const std::map<std::int64_t, double> &GetWeights() const { return fWeights; }
   bool IsActive() const { return !fWeights.empty(); }

   void Write(const RRowAddresses &rows, double label, double eventWeight) const
   {
      const auto found = fWeights.find(ClassOf(label));
      if (found == fWeights.end())
         throw std::runtime_error("ROOT::ML::RDataLoader: class " + std::to_string(ClassOf(label)) +
                                  " has no class weight (it does not occur in the training split)");
      Store(rows[static_cast<int>(EBlock::kWeights)], found->second * eventWeight, fSlot);
   }
};

} // namespace Detail
} // namespace ML
} // namespace ROOT

#endif
