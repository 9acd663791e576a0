/// \file SaveTests.cxx
/// \brief ROOT::ML::RDatasetWriter: an epoch of a filtered, shuffled loader written as an RNTuple and as a
/// TTree, then read back by an unshuffled loader, which must deliver the same batches.

#include "ROOT/ML/RDatasetWriter.hxx"

#include "RTestSupport.hxx"

#include <vector>

using namespace RDataLoaderTest;
using ROOT::ML::EDatasetFormat;
using ROOT::ML::EDType;

namespace {

ROOT::ML::RDataLoaderOptions SavedOptions(ROOT::ML::EShuffle shuffle)
{
   ROOT::ML::RDataLoaderOptions options;
   options.fBatchSize = 48;
   options.fTargets = {"label"};
   options.fMaxVecSizes = {{"vec", 3}};
   options.fShuffle = shuffle;
   options.fSeed = 21;
   return options;
}

/// Every value of every batch of one epoch, in delivery order.
template <typename Loader>
std::vector<float> EpochValues(Loader &loader)
{
   std::vector<float> values;
   for (const auto &batch : loader.Train()) {
      const auto x = batch.template GetFeatures<float>(), y = batch.template GetTargets<float>();
      for (std::size_t row = 0; row < batch.GetNumRows(); ++row) {
         for (std::size_t i = 0; i < 5; ++i)
            values.push_back(x(row, i));
         values.push_back(y(row, 0));
      }
   }
   return values;
}

} // namespace

void SavedEpochReadsBackAsTheSameBatches()
{
   RTempDir dir("saved_epoch_reads_back_as_the_same_batches");
   auto df = ROOT::RDataFrame("tree", WriteDataset(dir, {700, 300})).Filter([](Long64_t idx) { return idx % 3 != 0; },
                                                                          {"idx"});
   using RSavedLoader = ROOT::ML::RDataLoader<Long64_t, float, ROOT::RVec<float>, int>;
   const std::vector<std::string> columns{"idx", "x", "vec", "label"};
   const auto options = SavedOptions(ROOT::ML::EShuffle::kWindow);
   RSavedLoader reference(df, columns, options);
   const auto expected = EpochValues(reference);

   for (auto format : {EDatasetFormat::kRNTuple, EDatasetFormat::kTTree}) {
      const auto path = (dir.GetPath() / "saved.root").string();
      RSavedLoader loader(df, columns, options);
      ROOT::ML::RDatasetWriter writer(path, "events", format,
                                      {{"idx"}, {"x"}, {"vec", EDType::kFloat32, 3}, {"label"}});
      for (const auto &batch : loader.Train())
         writer.Fill(batch);
      writer.Close();
      RDL_CHECK_EQ(writer.GetNumEntries() * 6, expected.size());

      ROOT::ML::RDataLoader<float, float, ROOT::RVec<float>, float> back(ROOT::RDataFrame("events", path), columns,
                                                                         SavedOptions(ROOT::ML::EShuffle::kNone));
      RDL_CHECK_MSG(EpochValues(back) == expected, "the saved file reads back as the epoch it was written from");
      RDL_CHECK_EQ(back.GetReadPath(0, 2), format == EDatasetFormat::kRNTuple ? "RNTuple pages" : "TTree baskets");
   }

   RSavedLoader loader(df, columns, options);
   ROOT::ML::RDatasetWriter narrow((dir.GetPath() / "narrow.root").string(), "events", EDatasetFormat::kRNTuple,
                                   {{"idx"}, {"label"}});
   RDL_CHECK_THROWS(narrow.Fill(*loader.Train().begin()), std::invalid_argument, "do not hold the columns");
}
