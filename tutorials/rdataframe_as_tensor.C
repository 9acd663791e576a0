/// \file
/// \ingroup tutorial_ml
/// \notebook -nodraw
/// This tutorial shows how the content of an RDataFrame can be read into a tensor. It mirrors TMVA's
/// tutorials/machine_learning/tmva002_RDataFrameAsTensor.C (TMVA::Experimental::AsTensor) with
/// ROOT::ML::RDataLoader: a batch as large as the dataframe, read in order, holds all of it, and its
/// RTensorView plays the part of the RTensor.
///
/// The macro needs the rdataloader headers on the interpreter's include path, for example:
/// ~~~{.sh}
/// ROOT_INCLUDE_PATH=$PWD/inc root -l -b -q tutorials/rdataframe_as_tensor.C
/// ~~~
///
/// \macro_code
/// \macro_output

#include "ROOT/ML/RDataLoader.hxx"

#include <ROOT/RDataFrame.hxx>

#include <iostream>

/// Prints a tensor view row by row.
void PrintTensor(const ROOT::ML::RTensorView<float> &tensor)
{
   const auto shape = tensor.GetShape();
   std::cout << "{ ";
   for (std::size_t row = 0; row < shape[0]; ++row) {
      std::cout << "{ ";
      for (std::size_t col = 0; col < shape[1]; ++col)
         std::cout << tensor(row, col) << (col + 1 < shape[1] ? ", " : " ");
      std::cout << "} ";
   }
   std::cout << "} with shape { " << shape[0] << ", " << shape[1] << " }\n\n";
}

void rdataframe_as_tensor()
{
   // Creation of an RDataFrame with five entries filled with ascending numbers
   ROOT::RDataFrame df(5);
   auto df2 = df.Define("x", [](ULong64_t e) { return 1.f * e; }, {"rdfentry_"})
                 .Define("y", [](ULong64_t e) { return -1.f * e; }, {"rdfentry_"});

   // One batch with every entry, in the order of the dataframe
   ROOT::ML::RDataLoaderOptions options;
   options.fBatchSize = *df2.Count();
   options.fShuffle = ROOT::ML::EShuffle::kNone;
   options.fDropRemainder = false;

   // Convert the content of the columns to a tensor: the features of that batch
   ROOT::ML::RDataLoader<float, float> loader(df2, {"x", "y"}, options);
   for (const auto &batch : loader.Train()) {
      std::cout << "Tensor from an RDataFrame:\n";
      PrintTensor(batch.GetFeatures());
   }

   // Reading only a part of the RDataFrame: the loader reads the columns it is given. Its views are
   // always row-major; for a single column, row- and column-major layouts are the same.
   ROOT::ML::RDataLoader<float> xOnly(df2, {"x"}, options);
   for (const auto &batch : xOnly.Train()) {
      std::cout << "Tensor from a single column of the RDataFrame:\n";
      PrintTensor(batch.GetFeatures());
   }

   // Columns named as targets land in a tensor of their own, next to the features
   options.fTargets = {"y"};
   ROOT::ML::RDataLoader<float, float> supervised(df2, {"x", "y"}, options);
   for (const auto &batch : supervised.Train()) {
      std::cout << "Features and targets from the RDataFrame:\n";
      PrintTensor(batch.GetFeatures());
      PrintTensor(batch.GetTargets());
   }
}
