/// \file ROOT/ML/Detail/RClassWeights.hxx
/// \brief Per-entry weights from the class of the entry's label, for imbalanced classification.

#ifndef ROOT_ML_Detail_RClassWeights
#define ROOT_ML_Detail_RClassWeights

#include "ROOT/ML/Detail/RColumnWriter.hxx"
#include "ROOT/ML/RDataLoaderOptions.hxx"

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <map>
#include <numeric>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

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
   if (!options.fBalanceClasses && options.fClassWeights.empty()) {
      // Reweighting alone: every class of the data weighs 1 before its bins do.
      std::map<std::int64_t, double> ones;
      for (const auto *counts : {&train, &validation})
         for (const auto &[label, n] : *counts)
            ones[label] = 1.;
      return ones;
   }
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

/// \brief The grid of bins of kinematic reweighting (RReweightOptions): one index for the bins of all its columns.
class RReweightBins {
   std::vector<std::size_t> fColumns; ///< The loaded column of each variable.
   std::vector<std::vector<double>> fEdges;

public:
   RReweightBins() = default;
   RReweightBins(std::vector<std::size_t> columns, std::vector<std::vector<double>> edges)
      : fColumns(std::move(columns)), fEdges(std::move(edges))
   {
   }

   std::size_t GetNumBins() const
   {
      std::size_t bins = 1;
      for (const auto &edges : fEdges)
         bins *= edges.size() - 1;
      return bins;
   }

   /// The bin of an entry, whose scalar column c has the value valueAt(c).
   template <typename ValueAt>
   std::size_t BinOf(ValueAt &&valueAt) const
   {
      std::size_t bin = 0;
      for (std::size_t v = 0; v < fColumns.size(); ++v) {
         const auto &edges = fEdges[v];
         const auto last = edges.size() - 2;
         const double x = valueAt(fColumns[v]);
         // upper_bound finds no edge above NaN either: NaN joins the last bin.
         const auto above = std::upper_bound(edges.begin(), edges.end(), x) - edges.begin();
         bin = bin * (last + 1) + std::min<std::size_t>(above == 0 ? 0 : above - 1, last);
      }
      return bin;
   }
};

/// The weight of each class in each bin (see RReweightOptions) from the training split's counts `counts`
/// (per class, per bin): reference share of the bin / the class's share of it, 0 where the class has no entries.
inline std::map<std::int64_t, std::vector<double>>
ReweightToReference(const RReweightOptions &options, const std::map<std::int64_t, std::vector<std::uint64_t>> &counts,
                    std::size_t numBins)
{
   std::vector<double> reference(numBins, 0.);
   if (options.fFlat) {
      std::vector<bool> filled(numBins, false);
      for (const auto &[label, perBin] : counts)
         for (std::size_t b = 0; b < numBins; ++b)
            filled[b] = filled[b] || perBin[b] > 0;
      const auto numFilled = std::count(filled.begin(), filled.end(), true);
      for (std::size_t b = 0; b < numBins; ++b)
         reference[b] = filled[b] ? 1. / static_cast<double>(numFilled) : 0.;
   } else {
      const auto found = counts.find(options.fReferenceClass);
      if (found == counts.end())
         throw std::invalid_argument("ROOT::ML::RDataLoader: the reference class " +
                                     std::to_string(options.fReferenceClass) +
                                     " of the reweighting has no entries in the training split");
      const auto total = std::accumulate(found->second.begin(), found->second.end(), std::uint64_t{0});
      for (std::size_t b = 0; b < numBins; ++b)
         reference[b] = static_cast<double>(found->second[b]) / static_cast<double>(total);
   }
   std::map<std::int64_t, std::vector<double>> weights;
   for (const auto &[label, perBin] : counts) {
      const auto total = static_cast<double>(std::accumulate(perBin.begin(), perBin.end(), std::uint64_t{0}));
      auto &w = weights[label];
      w.resize(numBins, 0.);
      for (std::size_t b = 0; b < numBins; ++b)
         w[b] = perBin[b] > 0 ? reference[b] * total / static_cast<double>(perBin[b]) : 0.;
   }
   return weights;
}

/// \brief Writes weight(class of label) x reweighting(class, bin) x event weight into the weights tensor of
/// each entry.
class RClassWeights {
   std::map<std::int64_t, double> fWeights;
   RReweightBins fBins;
   std::map<std::int64_t, std::vector<double>> fBinWeights; ///< Per class, per bin; empty without reweighting.
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
   void SetReweighting(RReweightBins bins, std::map<std::int64_t, std::vector<double>> binWeights)
   {
      fBins = std::move(bins);
      fBinWeights = std::move(binWeights);
   }
   const std::map<std::int64_t, std::vector<double>> &GetBinWeights() const { return fBinWeights; }
   bool IsActive() const { return !fWeights.empty(); }
   bool IsReweighted() const { return !fBinWeights.empty(); }

   /// The bin of an entry, whose scalar column c has the value valueAt(c); 0 without reweighting.
   template <typename ValueAt>
   std::size_t BinOf(ValueAt &&valueAt) const
   {
      return IsReweighted() ? fBins.BinOf(std::forward<ValueAt>(valueAt)) : 0;
   }

   void Write(const RRowAddresses &rows, double label, double eventWeight, std::size_t bin) const
   {
      const auto cls = ClassOf(label);
      const auto found = fWeights.find(cls);
      if (found == fWeights.end())
         throw std::runtime_error("ROOT::ML::RDataLoader: class " + std::to_string(cls) +
                                  " has no class weight (it does not occur in the training split)");
      double weight = found->second * eventWeight;
      if (IsReweighted()) {
         const auto binWeights = fBinWeights.find(cls);
         // A class the training split lacks (a validation-only label) keeps its distribution.
         weight *= binWeights == fBinWeights.end() ? 1. : binWeights->second[bin];
      }
      Store(rows[static_cast<int>(EBlock::kWeights)], weight, fSlot);
   }
};

} // namespace Detail
} // namespace ML
} // namespace ROOT

#endif
