/// \file ROOT/ML/Detail/RColumnTable.hxx
/// \brief Where each loaded column goes in a batch: its tensor, offset, width, dtype and transform.

#ifndef ROOT_ML_Detail_RColumnTable
#define ROOT_ML_Detail_RColumnTable

#include "ROOT/ML/Detail/RClassWeights.hxx"
#include "ROOT/ML/Detail/RCollectionWriter.hxx"
#include "ROOT/ML/Detail/RColumnWriter.hxx"
#include "ROOT/ML/RBatch.hxx"
#include "ROOT/ML/RDataLoaderOptions.hxx"

#include <algorithm>
#include <array>
#include <cstddef>
#include <map>
#include <stdexcept>
#include <string>
#include <vector>

namespace ROOT {
namespace ML {
namespace Detail {

/// \brief The layout of every batch and the place of each column in it, decided once from the options:
/// features in column order, targets in the order given, then the weight; vector columns padded or
/// truncated to their size; the columns of object collections left to the collection writer. It also
/// holds what changes how values are written: the features' normalisation and the class weights.
class RColumnTable {
public:
   static constexpr std::size_t kNoColumn = static_cast<std::size_t>(-1);

private:
   const RDataLoaderOptions *fOptions;
   std::vector<std::string> fNames;
   std::vector<bool> fIsVector;
   std::vector<RColumnSlot> fSlots;
   RCollectionWriter fCollections; ///< Checked and laid out once; each reader writes with a copy.
   RBatchLayout fLayout;
   std::size_t fLabelColumn = kNoColumn;  ///< The class label, when weighting or resampling by class.
   std::size_t fWeightColumn = kNoColumn; ///< The event weight, if any.
   RClassWeights fClassWeights;

   EBlock BlockOf(const std::string &column) const
   {
      if (column == fOptions->fWeights)
         return EBlock::kWeights;
      const auto &targets = fOptions->fTargets;
      return std::find(targets.begin(), targets.end(), column) != targets.end() ? EBlock::kTargets
                                                                                : EBlock::kFeatures;
   }

   std::size_t IndexOf(const std::string &column) const
   {
      return std::find(fNames.begin(), fNames.end(), column) - fNames.begin();
   }

   /// Gives each flat column its width and dtype; all columns of one tensor share its dtype.
   void TypeSlots(const std::vector<bool> &isVector)
   {
      std::array<bool, 3> typed{false, false, false};
      for (std::size_t i = 0; i < fNames.size(); ++i) {
         auto &slot = fSlots[i];
         slot.fName = fNames[i];
         slot.fBlock = BlockOf(slot.fName);
         slot.fPadding = fOptions->fVecPadding;
         if (fCollections.Reads(i)) {
            slot.fWidth = 0; // written by the collection writer, not into the flat row
            continue;
         }
         if (isVector[i]) {
            const auto size = fOptions->fMaxVecSizes.find(slot.fName);
            if (size == fOptions->fMaxVecSizes.end() || size->second == 0)
               throw std::invalid_argument("ROOT::ML::RDataLoader: vector column '" + slot.fName +
                                           "' needs a positive size in fMaxVecSizes");
            slot.fWidth = size->second;
         }
         const auto dtype = fOptions->fDTypes.find(slot.fName);
         slot.fDType = dtype == fOptions->fDTypes.end() ? EDType::kFloat32 : dtype->second;
         auto &block = fLayout[static_cast<int>(slot.fBlock)];
         if (typed[static_cast<int>(slot.fBlock)] && block.fDType != slot.fDType)
            throw std::invalid_argument("ROOT::ML::RDataLoader: column '" + slot.fName +
                                        "' asks for a dtype different from the other columns of its tensor; "
                                        "all features (and all targets) share one dtype");
         typed[static_cast<int>(slot.fBlock)] = true;
         block.fDType = slot.fDType;
      }
   }

   void Place(const std::string &name)
   {
      auto &slot = fSlots[IndexOf(name)];
      auto &block = fLayout[static_cast<int>(slot.fBlock)];
      slot.fOffset = block.fWidth;
      slot.fByteOffset = slot.fOffset * GetDTypeSize(slot.fDType);
      block.fWidth += slot.fWidth;
   }

   /// Class weights and resampling by class need one scalar label; class weights need a weights tensor
   /// even without an event-weight column.
   void PrepareLabel(const std::vector<bool> &isVector)
   {
      const auto &targets = fOptions->fTargets;
      if (targets.size() != 1 || isVector[IndexOf(targets[0])])
         throw std::invalid_argument(
            "ROOT::ML::RDataLoader: class weights and resampling need exactly one scalar target column");
      fLabelColumn = IndexOf(targets[0]);
      if (fOptions->IsClassWeighted()) {
         auto &weights = fLayout[static_cast<int>(EBlock::kWeights)];
         weights.fWidth = 1;
         fClassWeights = RClassWeights(weights.fDType);
      }
   }

public:
   /// \param isVector whether each column holds vectors
   RColumnTable(const RDataLoaderOptions &options, const std::vector<std::string> &names,
                const std::vector<bool> &isVector)
      : fOptions(&options),
        fNames(names),
        fIsVector(isVector),
        fSlots(names.size()),
        fCollections(options, names, isVector)
   {
      fLayout.fCollections = fCollections.GetLayouts();
      TypeSlots(isVector);
      for (const auto &name : fNames)
         if (BlockOf(name) == EBlock::kFeatures)
            Place(name);
      for (const auto &name : fOptions->fTargets)
         Place(name);
      if (!fOptions->fWeights.empty()) {
         Place(fOptions->fWeights);
         fWeightColumn = IndexOf(fOptions->fWeights);
      }
      if (fOptions->IsClassWeighted() ||
          (fOptions->fSampling != ESampling::kNone && fOptions->fResampleBy == ESampleBy::kTarget))
         PrepareLabel(isVector);
      // A single integer target is a class label: a plain vector, as losses for classes expect.
      auto &targets = fLayout[static_cast<int>(EBlock::kTargets)];
      const bool integral = targets.fDType != EDType::kFloat32 && targets.fDType != EDType::kFloat64;
      targets.fRank = (targets.fWidth == 1 && integral) ? 1 : 2;
   }

   const RBatchLayout &GetLayout() const { return fLayout; }
   const RColumnSlot &GetSlot(std::size_t column) const { return fSlots[column]; }
   const RCollectionWriter &GetCollections() const { return fCollections; }
   const RClassWeights &GetClassWeights() const { return fClassWeights; }
   std::size_t GetLabelColumn() const { return fLabelColumn; }
   std::size_t GetWeightColumn() const { return fWeightColumn; }

   /// The name of each feature element, in the features tensor's order: a vector column's elements are
   /// `name_0`, `name_1`, ...
   std::vector<std::string> GetFeatureElementNames() const
   {
      std::vector<std::string> names;
      for (std::size_t c = 0; c < fNames.size(); ++c) {
         const auto &slot = fSlots[c];
         if (slot.fBlock != EBlock::kFeatures)
            continue;
         for (std::size_t i = 0; i < slot.fWidth; ++i)
            names.push_back(fIsVector[c] ? fNames[c] + "_" + std::to_string(i) : fNames[c]);
      }
      return names;
   }

   /// Element i of the features becomes (value - shift[i]) * scale[i]; one entry per feature element.
   void SetFeatureTransform(const std::vector<double> &shift, const std::vector<double> &scale)
   {
      const auto &features = fLayout[static_cast<int>(EBlock::kFeatures)];
      if (shift.size() != features.fWidth || scale.size() != features.fWidth)
         throw std::invalid_argument("ROOT::ML::RDataLoader: a feature transform needs " +
                                     std::to_string(features.fWidth) + " shifts and scales, one per feature element");
      if (features.fDType != EDType::kFloat32 && features.fDType != EDType::kFloat64)
         throw std::invalid_argument("ROOT::ML::RDataLoader: normalised features must have a floating-point dtype");
      for (auto &slot : fSlots) {
         if (slot.fBlock != EBlock::kFeatures)
            continue;
         slot.fShift.assign(shift.begin() + slot.fOffset, shift.begin() + slot.fOffset + slot.fWidth);
         slot.fScale.assign(scale.begin() + slot.fOffset, scale.begin() + slot.fOffset + slot.fWidth);
      }
   }

   /// The loaded column of each reweighting variable (RReweightOptions::fColumns), which must hold scalars.
   std::vector<std::size_t> GetReweightColumns() const
   {
      std::vector<std::size_t> columns;
      for (const auto &name : fOptions->fReweight.fColumns) {
         const auto c = IndexOf(name);
         if (fIsVector[c])
            throw std::invalid_argument("ROOT::ML::RDataLoader: fReweight: '" + name +
                                        "' holds vectors; reweight on a scalar column (Define one, say its leading "
                                        "element)");
         columns.push_back(c);
      }
      return columns;
   }

   /// From now on the class weights are multiplied by binWeights[class][bin of the entry in `bins`].
   void SetReweighting(RReweightBins bins, std::map<std::int64_t, std::vector<double>> binWeights)
   {
      fClassWeights.SetReweighting(std::move(bins), std::move(binWeights));
   }

   /// From now on the weights tensor holds weights[class of label] x the event weight.
   void SetClassWeights(std::map<std::int64_t, double> weights)
   {
      if (fLabelColumn == kNoColumn || !fOptions->IsClassWeighted())
         throw std::logic_error("ROOT::ML::RDataLoader: class weights need fBalanceClasses or fClassWeights");
      if (weights.empty())
         throw std::invalid_argument("ROOT::ML::RDataLoader: no class weights given");
      fClassWeights.SetWeights(std::move(weights));
   }
};

} // namespace Detail
} // namespace ML
} // namespace ROOT

#endif
