/// \file consumer.cxx
/// \brief A compiled program built against the installed rdataloader package: loads one epoch and checks it.

#include <ROOT/ML/RDataLoader.hxx>
#include <ROOT/RDataFrame.hxx>

#include <iostream>

int main()
{
   auto df = ROOT::RDataFrame(1000)
                .Define("x", [](ULong64_t e) { return static_cast<float>(e); }, {"rdfentry_"})
                .Define("y", [](ULong64_t e) { return static_cast<int>(e % 2); }, {"rdfentry_"});
   ROOT::ML::RDataLoaderOptions options;
   options.fBatchSize = 100;
   options.fTargets = {"y"};
   ROOT::ML::RDataLoader<float, int> loader(df, {"x", "y"}, options);
   double sum = 0.;
   for (const auto &batch : loader.Train()) {
      const auto x = batch.GetFeatures();
      const auto y = batch.GetTargets();
      for (std::size_t row = 0; row < batch.GetNumRows(); ++row) {
         sum += x(row, 0);
         if (y(row, 0) != static_cast<float>(static_cast<int>(x(row, 0)) % 2)) {
            std::cerr << "consumer: row " << row << " has target " << y(row, 0) << " for x = " << x(row, 0) << "\n";
            return 1;
         }
      }
   }
   if (sum != 999. * 1000. / 2.) {
      std::cerr << "consumer: the epoch did not deliver every entry once (sum of x is " << sum << ")\n";
      return 1;
   }
   std::cout << "consumer: one epoch of " << loader.GetNumBatches(ROOT::ML::ESplit::kTrain) << " batches\n";
   return 0;
}
