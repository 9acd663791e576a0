/// \file
/// \ingroup tutorial_ml
/// \notebook -nodraw
/// Train a logistic regression in plain C++ on shuffled mini-batches that ROOT::ML::RDataLoader streams
/// from an RDataFrame. This is the C++ counterpart of ROOT's tutorials/machine_learning/ml_dataloader_PyTorch.py,
/// with the network reduced to a single linear layer so that its gradient takes a few lines. The loader also
/// standardises the features (fitted on the training split; the features differ in scale by a factor 1000)
/// and weighs the rarer class up (balanced class weights), as `normalize="standard"` and
/// `class_weights="balanced"` do from Python. The file is sorted by class, as files merged from one per
/// physics process are: the exact shuffle (`shuffle="global"` in Python) makes every batch a uniform sample
/// of the whole training split all the same.
///
/// The macro needs the rdataloader headers on the interpreter's include path, for example:
/// ~~~{.sh}
/// ROOT_INCLUDE_PATH=$PWD/inc root -l -b -q tutorials/logistic_regression.C
/// ~~~
/// It throws unless the validation loss after training is lower than before.
///
/// \macro_code
/// \macro_output

#include "ROOT/ML/RDataLoader.hxx"

#include <ROOT/RDataFrame.hxx>
#include <TRandom3.h>
#include <TSystem.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdio>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

void logistic_regression()
{
   // Two overlapping Gaussian blobs in (x1, x2), one per class: 8000 entries of class 0, then 2000 of class 1.
   // x2 is an energy in MeV, a thousand times the scale of x1. Written to a temporary file in clusters of 500
   // entries: the validation split is drawn cluster by cluster from all over the file.
   const std::string fileName =
      std::string(gSystem->TempDirectory()) + "/logistic_regression_" + std::to_string(gSystem->GetPid()) + ".root";
   {
      ROOT::RDF::RSnapshotOptions clusters;
      clusters.fAutoFlush = 500;
      auto rng = std::make_shared<TRandom3>(42);
      ROOT::RDataFrame(10000)
         .Define("label", [](ULong64_t entry) { return entry < 8000 ? 0 : 1; }, {"rdfentry_"})
         .Define("x1", [rng](int label) { return static_cast<float>(rng->Gaus(label ? 1. : -1., 1.)); }, {"label"})
         .Define("x2", [rng](int label) { return static_cast<float>(rng->Gaus(label ? 500. : -500., 1000.)); },
                 {"label"})
         .Snapshot("blobs", fileName, {"x1", "x2", "label"}, clusters);
   }

   ROOT::ML::RDataLoaderOptions options;
   options.fBatchSize = 64;
   options.fTargets = {"label"};
   options.fValidationSplit = 0.25;
   options.fNormalize = ROOT::ML::ENormalization::kStandard;
   options.fBalanceClasses = true; // the weights tensor holds each entry's class weight
   // The first epoch of each split copies it to random piles in the temporary directory (fCacheDirectory to
   // choose another), which the loader removes; later epochs read the piles in a new order.
   options.fShuffle = ROOT::ML::EShuffle::kGlobal;
   ROOT::RDataFrame df("blobs", fileName);
   ROOT::ML::RDataLoader<float, float, int> loader(df, {"x1", "x2", "label"}, options);

   const auto &scaler = loader.GetNormalization();
   for (std::size_t i = 0; i < scaler.fColumns.size(); ++i)
      std::printf("%s: mean %.3g, std %.3g in the training split\n", scaler.fColumns[i].c_str(), scaler.fMean[i],
                  scaler.fStdDev[i]);
   for (const auto &[label, weight] : loader.GetClassWeights())
      std::printf("class %lld weighs %.3f\n", static_cast<long long>(label), weight);
   // For inference, in C++ (RNormalization::Load) or in Python (rdataloader.Normalization.load).
   const auto scalerFile = fileName + ".scaler.json";
   scaler.Save(scalerFile);

   // The model: P(label = 1 | x) = sigmoid(w . x + b).
   std::array<double, 2> w{0., 0.};
   double b = 0.;
   const double learningRate = 0.1;
   auto predict = [&](const ROOT::ML::RTensorView<float> &x, std::size_t row) {
      return 1. / (1. + std::exp(-(w[0] * x(row, 0) + w[1] * x(row, 1) + b)));
   };

   // Weighted mean binary cross-entropy over one validation epoch.
   auto validationLoss = [&] {
      double sum = 0.;
      double weights = 0.;
      for (const auto &batch : loader.Validation()) {
         const auto x = batch.GetFeatures();
         const auto y = batch.GetTargets(); // float32 with shape {rows, 1}: the label was not given an integer dtype
         const auto weight = batch.GetWeights();
         for (std::size_t row = 0; row < batch.GetNumRows(); ++row) {
            // Clamped away from 0 and 1, where the logarithm diverges.
            const double p = std::min(std::max(predict(x, row), 1e-7), 1. - 1e-7);
            sum -= weight(row) * (y(row) * std::log(p) + (1. - y(row)) * std::log(1. - p));
            weights += weight(row);
         }
      }
      return sum / weights;
   };

   std::vector<double> losses{validationLoss()};
   std::printf("before training: validation loss %.4f\n", losses.back());
   for (int epoch = 1; epoch <= 5; ++epoch) {
      // One SGD step per batch, with the gradient of the batch's weighted mean loss.
      for (const auto &batch : loader.Train()) {
         const auto x = batch.GetFeatures();
         const auto y = batch.GetTargets();
         const auto weight = batch.GetWeights();
         std::array<double, 2> gradW{0., 0.};
         double gradB = 0.;
         for (std::size_t row = 0; row < batch.GetNumRows(); ++row) {
            const double error = weight(row) * (predict(x, row) - y(row));
            gradW[0] += error * x(row, 0);
            gradW[1] += error * x(row, 1);
            gradB += error;
         }
         const double step = learningRate / batch.GetNumRows();
         w[0] -= step * gradW[0];
         w[1] -= step * gradW[1];
         b -= step * gradB;
      }
      if (epoch == 1)
         std::printf("the training split's piles: %llu bytes in %s\n",
                     static_cast<unsigned long long>(loader.GetEpochStats().fCacheBytes),
                     loader.GetEpochStats().fCacheDirectory.c_str());
      losses.push_back(validationLoss());
      std::printf("epoch %d: validation loss %.4f  (w = %.3f, %.3f; b = %.3f)\n", epoch, losses.back(), w[0], w[1],
                  b);
   }
   gSystem->Unlink(fileName.c_str());
   gSystem->Unlink(scalerFile.c_str());

   if (!(losses.back() < losses.front()))
      throw std::runtime_error("logistic_regression: the validation loss did not decrease");
}
