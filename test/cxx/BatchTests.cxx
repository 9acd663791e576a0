/// \file BatchTests.cxx
/// \brief What a batch holds: tensor views, dtypes, vector columns; and the options a loader refuses.

#include "RTestSupport.hxx"

#include <cstdint>
#include <limits>

using namespace RDataLoaderTest;
using ROOT::ML::EBlock;
using ROOT::ML::EDType;

namespace {

/// A small dataframe without a file, for checks that need no reading units.
ROOT::RDF::RNode MemoryDataFrame()
{
   return ROOT::RDataFrame(20)
      .Define("a", [](ULong64_t e) { return static_cast<float>(e); }, {"rdfentry_"})
      .Define("b", [](ULong64_t e) { return static_cast<int>(e % 2); }, {"rdfentry_"})
      .Define("v", [](ULong64_t e) { return ROOT::RVecF(e % 3, 1.f); }, {"rdfentry_"});
}

template <typename Loader>
void Construct(const std::vector<std::string> &columns, const ROOT::ML::RDataLoaderOptions &options)
{
   Loader loader(MemoryDataFrame(), columns, options);
}

} // namespace

void TensorViewShapesAndElementAccess()
{
   RTempDir dir("tensor_view_shapes_and_element_access");
   auto df = ROOT::RDataFrame("tree", WriteDataset(dir, {230, 170}))
                .Define("w", [](Long64_t idx) { return 1.f + static_cast<float>(idx % 3); }, {"idx"});
   ROOT::ML::RDataLoaderOptions options;
   options.fBatchSize = 50;
   options.fDropRemainder = false;
   options.fTargets = {"label"};
   options.fWeights = "w";
   options.fDTypes = {{"idx", EDType::kFloat64}, {"x", EDType::kFloat64}, {"label", EDType::kInt64}};
   ROOT::ML::RDataLoader<Long64_t, float, int, float> loader(df, {"idx", "x", "label", "w"}, options);

   std::size_t rowsSeen = 0;
   for (const auto &batch : loader.Train()) {
      const auto rows = batch.GetNumRows();
      rowsSeen += rows;
      const auto features = batch.GetFeatures<double>();
      const auto labels = batch.GetTargets<std::int64_t>();
      const auto weights = batch.GetWeights<float>();
      RDL_CHECK_EQ(features.GetRank(), 2u);
      RDL_CHECK(features.GetShape() == (std::array<std::size_t, 2>{rows, 2}));
      RDL_CHECK(features.GetStrides() == (std::array<std::size_t, 2>{2, 1}));
      RDL_CHECK_EQ(features.GetSize(), rows * 2);
      // A single integer target is a class label, a plain vector of rows.
      RDL_CHECK_EQ(labels.GetRank(), 1u);
      RDL_CHECK(labels.GetShape() == (std::array<std::size_t, 2>{rows, 1}));
      RDL_CHECK_EQ(weights.GetRank(), 2u);
      RDL_CHECK(weights.GetShape() == (std::array<std::size_t, 2>{rows, 1}));
      for (auto block : {EBlock::kFeatures, EBlock::kTargets, EBlock::kWeights})
         RDL_CHECK_EQ(batch.GetAddress(block) % 64, 0u);

      for (std::size_t row = 0; row < rows; ++row) {
         const auto idx = static_cast<Long64_t>(features(row, 0));
         RDL_CHECK_EQ(features(row, 1), static_cast<double>(XOf(idx)));
         RDL_CHECK_EQ(labels(row), idx % 2);
         RDL_CHECK_EQ(weights(row, 0), 1.f + static_cast<float>(idx % 3));
         RDL_CHECK_EQ(&features.At(row, 1), &features(row, 1));
      }
      RDL_CHECK_THROWS(features.At(rows, 0), std::out_of_range, "outside shape");
      RDL_CHECK_THROWS(features.At(0, 2), std::out_of_range, "outside shape");
      RDL_CHECK_THROWS(labels.At(0, 1), std::out_of_range, "outside shape");
      RDL_CHECK_THROWS(batch.GetFeatures<float>(), std::invalid_argument, "does not match the block's dtype");
   }
   RDL_CHECK_EQ(rowsSeen, 400u);

   // Without a dtype, a target is float32 and keeps its column dimension; without weights there is no block.
   options.fDTypes.erase("label");
   options.fWeights.clear();
   ROOT::ML::RDataLoader<Long64_t, float, int> floatLabels(df, {"idx", "x", "label"}, options);
   const auto &targets = floatLabels.GetLayout()[static_cast<int>(EBlock::kTargets)];
   RDL_CHECK(targets.fDType == EDType::kFloat32);
   RDL_CHECK_EQ(targets.fRank, 2u);
   RDL_CHECK_EQ(floatLabels.GetLayout()[static_cast<int>(EBlock::kWeights)].fWidth, 0u);

   const ROOT::ML::RTensorView<float> empty;
   RDL_CHECK_EQ(empty.GetSize(), 0u);
   RDL_CHECK_THROWS(empty.At(0, 0), std::out_of_range, "outside shape (0, 0)");
}

void Int64DTypeKeepsLargeIntegersExactly()
{
   RTempDir dir("int64_dtype_keeps_large_integers_exactly");
   const Long64_t big = (Long64_t(1) << 40) + 1;
   // 2**40 + 1 needs 41 significant bits, more than float32 holds; "negative" needs 54, more than float64 holds.
   auto df = ROOT::RDataFrame("tree", WriteDataset(dir, {300}))
                .Define("big", [big](Long64_t idx) { return big + idx; }, {"idx"})
                .Define("negative", [big](Long64_t idx) { return -(big << 13) - idx; }, {"idx"});
   ROOT::ML::RDataLoaderOptions options;
   options.fBatchSize = 32;
   options.fDropRemainder = false;
   options.fDTypes = {{"idx", EDType::kInt64}, {"big", EDType::kInt64}, {"negative", EDType::kInt64}};
   ROOT::ML::RDataLoader<Long64_t, Long64_t, Long64_t> loader(df, {"idx", "big", "negative"}, options);
   std::size_t rows = 0;
   bool sawBig = false;
   for (const auto &batch : loader.Train()) {
      const auto features = batch.GetFeatures<std::int64_t>();
      for (std::size_t row = 0; row < batch.GetNumRows(); ++row, ++rows) {
         const auto idx = features(row, 0);
         RDL_CHECK_EQ(features(row, 1), big + idx);
         RDL_CHECK_EQ(features(row, 2), -(big << 13) - idx);
         sawBig = sawBig || features(row, 1) == big;
      }
   }
   RDL_CHECK_EQ(rows, 300u);
   RDL_CHECK(sawBig);
}

void OutOfRangeDTypeConversionThrows()
{
   auto df = ROOT::RDataFrame(100)
                .Define("wide", [](ULong64_t e) { return static_cast<int>(e) * 5; }, {"rdfentry_"})
                .Define("signed", [](ULong64_t e) { return static_cast<int>(e) - 50; }, {"rdfentry_"});
   ROOT::ML::RDataLoaderOptions options;
   options.fBatchSize = 10;

   // The conversion fails on the loading thread; the error reaches the consumer when it asks for a batch,
   // wrapped with the range that was being read, so only its message is checked.
   options.fDTypes = {{"wide", EDType::kInt8}};
   ROOT::ML::RDataLoader<int> tooWide(df, {"wide"}, options);
   RDL_CHECK_THROWS(for (const auto &batch : tooWide.Train()) (void)batch, std::exception,
                    "value 130 of column 'wide' does not fit");

   options.fDTypes = {{"signed", EDType::kUInt8}};
   ROOT::ML::RDataLoader<int> negative(df, {"signed"}, options);
   RDL_CHECK_THROWS(for (const auto &batch : negative.Train()) (void)batch, std::exception,
                    "value -50 of column 'signed' does not fit");

   // Values that fit convert without complaint; the boundaries themselves fit.
   options.fDTypes = {{"signed", EDType::kInt8}};
   ROOT::ML::RDataLoader<int> fits(df, {"signed"}, options);
   std::size_t rows = 0;
   for (const auto &batch : fits.Train())
      rows += batch.GetNumRows();
   RDL_CHECK_EQ(rows, 100u);
   auto edges = ROOT::RDataFrame(2).Define(
      "e", [](ULong64_t e) { return e == 0 ? double(std::numeric_limits<std::int8_t>::min()) : 127.; }, {"rdfentry_"});
   options.fDTypes = {{"e", EDType::kInt8}};
   options.fBatchSize = 2;
   ROOT::ML::RDataLoader<double> edgeLoader(edges, {"e"}, options);
   for (const auto &batch : edgeLoader.Train())
      RDL_CHECK_EQ(batch.GetNumRows(), 2u);
}

void VectorColumnsArePaddedAndTruncated()
{
   RTempDir dir("vector_columns_are_padded_and_truncated");
   ROOT::RDataFrame df("tree", WriteDataset(dir, {250}));
   ROOT::ML::RDataLoaderOptions options;
   options.fBatchSize = 25;
   options.fMaxVecSizes = {{"vec", 3}};
   options.fVecPadding = -1.;
   options.fDTypes = {{"idx", EDType::kFloat64}, {"vec", EDType::kFloat64}};
   ROOT::ML::RDataLoader<Long64_t, ROOT::RVecF> loader(df, {"idx", "vec"}, options);
   RDL_CHECK_EQ(loader.GetLayout()[static_cast<int>(EBlock::kFeatures)].fWidth, 4u);
   std::size_t rows = 0, padded = 0, truncated = 0;
   for (const auto &batch : loader.Train()) {
      const auto features = batch.GetFeatures<double>();
      RDL_CHECK_EQ(features.GetShape()[1], 4u);
      for (std::size_t row = 0; row < batch.GetNumRows(); ++row, ++rows) {
         const auto idx = static_cast<Long64_t>(features(row, 0));
         const Long64_t length = idx % 5; // as written by WriteDataset
         padded += length < 3;
         truncated += length > 3;
         for (Long64_t k = 0; k < 3; ++k)
            RDL_CHECK_EQ(features(row, 1 + k), k < length ? static_cast<double>(10 * idx + k) : -1.);
      }
   }
   RDL_CHECK_EQ(rows, 250u);
   RDL_CHECK(padded > 0 && truncated > 0);
}

void ZeroBatchSizeIsRejected()
{
   ROOT::ML::RDataLoaderOptions options;
   options.fBatchSize = 0;
   RDL_CHECK_THROWS(Construct<ROOT::ML::RDataLoader<float>>({"a"}, options), std::invalid_argument,
                    "fBatchSize must be positive");
}

void UnknownTargetIsRejected()
{
   ROOT::ML::RDataLoaderOptions options;
   options.fTargets = {"nosuchcolumn"};
   RDL_CHECK_THROWS((Construct<ROOT::ML::RDataLoader<float, int>>({"a", "b"}, options)), std::invalid_argument,
                    "fTargets names 'nosuchcolumn', which is not among the columns");
}

void WeightsWithoutTargetAreRejected()
{
   ROOT::ML::RDataLoaderOptions options;
   options.fWeights = "b";
   RDL_CHECK_THROWS((Construct<ROOT::ML::RDataLoader<float, int>>({"a", "b"}, options)), std::invalid_argument,
                    "fWeights needs a target column (fTargets)");
}

void VectorColumnWithoutMaxSizeIsRejected()
{
   ROOT::ML::RDataLoaderOptions options;
   RDL_CHECK_THROWS((Construct<ROOT::ML::RDataLoader<float, ROOT::RVecF>>({"a", "v"}, options)),
                    std::invalid_argument, "vector column 'v' needs a positive size in fMaxVecSizes");
   options.fMaxVecSizes = {{"v", 0}};
   RDL_CHECK_THROWS((Construct<ROOT::ML::RDataLoader<float, ROOT::RVecF>>({"a", "v"}, options)),
                    std::invalid_argument, "vector column 'v' needs a positive size in fMaxVecSizes");
}

void InconsistentColumnsAreRejected()
{
   ROOT::ML::RDataLoaderOptions options;
   RDL_CHECK_THROWS((Construct<ROOT::ML::RDataLoader<float, int>>({"a"}, options)), std::invalid_argument,
                    "1 column names given for 2 column types");
   options.fDTypes = {{"a", EDType::kFloat32}, {"b", EDType::kInt64}};
   RDL_CHECK_THROWS((Construct<ROOT::ML::RDataLoader<float, int>>({"a", "b"}, options)), std::invalid_argument,
                    "asks for a dtype different from the other columns of its tensor");
}

void ValidationSplitOutsideUnitIntervalIsRejected()
{
   ROOT::ML::RDataLoaderOptions options;
   for (double split : {-0.1, 1., std::numeric_limits<double>::quiet_NaN()}) {
      options.fValidationSplit = split;
      RDL_CHECK_THROWS(Construct<ROOT::ML::RDataLoader<float>>({"a"}, options), std::invalid_argument,
                       "fValidationSplit must be in [0, 1)");
   }
}
