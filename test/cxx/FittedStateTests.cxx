/// \file FittedStateTests.cxx
/// \brief What a C++ loader learns from its training split when it is built: the normalisation of the
/// features (fNormalize) and the weights of the classes (fBalanceClasses), checked against sums over the
/// entries the training split holds; and the normalisation's file, read back exactly.

#include "RTestSupport.hxx"

#include <algorithm>
#include <cmath>
#include <fstream>
#include <map>
#include <numeric>
#include <set>

using namespace RDataLoaderTest;
using ROOT::ML::ENormalization;
using ROOT::ML::ESplit;

namespace {

/// Features idx, x and vec (2 elements, padded with -9), target label.
using RFeatureLoader = ROOT::ML::RDataLoader<Long64_t, float, ROOT::RVec<float>, int>;

ROOT::ML::RDataLoaderOptions FeatureOptions()
{
   ROOT::ML::RDataLoaderOptions options;
   options.fBatchSize = 64;
   options.fDropRemainder = false;
   options.fTargets = {"label"};
   options.fValidationSplit = 0.3;
   options.fSeed = 12;
   options.fMaxVecSizes = {{"vec", 2}};
   options.fVecPadding = -9.;
   return options;
}

/// The feature values of the entry with index idx, as the dataset stores them (see WriteDataset); NaN where
/// vec has no such element.
std::vector<double> FeaturesOf(std::int64_t idx)
{
   const auto length = idx % 5;
   return {static_cast<double>(idx), XOf(idx), length > 0 ? 10. * idx : NAN, length > 1 ? 10. * idx + 1 : NAN};
}

/// The indices of the training split, read from a loader without normalisation (the split does not depend on it).
std::vector<std::int64_t> TrainingIndices(ROOT::RDF::RNode df)
{
   RFeatureLoader plain(df, {"idx", "x", "vec", "label"}, FeatureOptions());
   std::vector<std::int64_t> indices;
   for (const auto &batch : plain.Train())
      for (std::size_t row = 0; row < batch.GetNumRows(); ++row)
         indices.push_back(static_cast<std::int64_t>(batch.GetFeatures<float>()(row, 0)));
   return indices;
}

bool Close(double a, double b)
{
   return std::abs(a - b) <= 1e-12 * std::max(std::abs(a), std::abs(b));
}

} // namespace

void NormalizationIsFittedOnTheTrainingSplit()
{
   RTempDir dir("normalization_is_fitted_on_the_training_split");
   ROOT::RDataFrame df("tree", WriteDataset(dir, {600, 400}));
   const auto training = TrainingIndices(df);
   auto options = FeatureOptions();
   options.fNormalize = ENormalization::kStandard;
   options.fNormalizeColumns = {{"vec", ENormalization::kMinMax}, {"x", ENormalization::kNone}};
   RFeatureLoader loader(df, {"idx", "x", "vec", "label"}, options);
   const auto &fitted = loader.GetNormalization();
   RDL_CHECK(fitted.fColumns == (std::vector<std::string>{"idx", "x", "vec_0", "vec_1"}));

   // Two-pass statistics of each element over the training entries where it exists.
   std::vector<double> sum(4, 0.), squares(4, 0.), low(4, INFINITY), high(4, -INFINITY);
   std::vector<std::uint64_t> count(4, 0);
   for (const auto idx : training)
      for (std::size_t i = 0; i < 4; ++i)
         if (const double v = FeaturesOf(idx)[i]; !std::isnan(v)) {
            ++count[i];
            sum[i] += v;
            low[i] = std::min(low[i], v);
            high[i] = std::max(high[i], v);
         }
   for (const auto idx : training)
      for (std::size_t i = 0; i < 4; ++i)
         if (const double v = FeaturesOf(idx)[i]; !std::isnan(v))
            squares[i] += (v - sum[i] / count[i]) * (v - sum[i] / count[i]);
   RDL_CHECK(fitted.fCount == count);
   RDL_CHECK_MSG(Close(fitted.fShift[0], sum[0] / count[0]), "idx is standardised: shifted by its mean");
   RDL_CHECK(Close(fitted.fScale[0], 1. / std::sqrt(squares[0] / count[0])));
   RDL_CHECK_MSG(fitted.fShift[1] == 0. && fitted.fScale[1] == 1., "x, named with kNone, is left as it is");
   for (std::size_t i : {2, 3}) {
      RDL_CHECK_MSG(fitted.fShift[i] == low[i], "vec is mapped from its minimum");
      RDL_CHECK(Close(fitted.fScale[i], 1. / (high[i] - low[i])));
   }

   // The batches hold (value - shift) * scale, and the padding as it was.
   std::set<std::int64_t> delivered;
   for (const auto &batch : loader.Train()) {
      const auto features = batch.GetFeatures<float>();
      for (std::size_t row = 0; row < batch.GetNumRows(); ++row) {
         const auto idx = std::llround(features(row, 0) / fitted.fScale[0] + fitted.fShift[0]);
         delivered.insert(idx);
         for (std::size_t i = 0; i < 4; ++i) {
            const double raw = FeaturesOf(idx)[i];
            const double expected = std::isnan(raw) ? -9. : (raw - fitted.fShift[i]) * fitted.fScale[i];
            RDL_CHECK_MSG(std::abs(features(row, i) - expected) <= 1e-5 * std::max(1., std::abs(expected)),
                          "entry " + std::to_string(idx) + ", element " + std::to_string(i));
         }
      }
   }
   RDL_CHECK(delivered == std::set<std::int64_t>(training.begin(), training.end()));

   auto target = FeatureOptions();
   target.fNormalizeColumns = {{"label", ENormalization::kStandard}};
   RDL_CHECK_THROWS(RFeatureLoader(df, {"idx", "x", "vec", "label"}, target), std::invalid_argument,
                    "fNormalizeColumns names 'label', which is not a feature column");
}

void SavedNormalizationLoadsExactlyAndReproducesTheBatches()
{
   RTempDir dir("saved_normalization_loads_exactly_and_reproduces_the_batches");
   ROOT::RDataFrame df("tree", WriteDataset(dir, {500}));
   auto options = FeatureOptions();
   options.fNormalize = ENormalization::kStandard;
   RFeatureLoader fitted(df, {"idx", "x", "vec", "label"}, options);
   const auto path = (dir.GetPath() / "scaler.json").string();
   fitted.GetNormalization().Save(path);
   const auto loaded = ROOT::ML::RNormalization::Load(path);
   const auto &original = fitted.GetNormalization();
   RDL_CHECK(loaded.fColumns == original.fColumns && loaded.fMethods == original.fMethods);
   RDL_CHECK_MSG(loaded.fShift == original.fShift && loaded.fScale == original.fScale, "numbers are written exactly");
   RDL_CHECK(loaded.fMean == original.fMean && loaded.fStdDev == original.fStdDev && loaded.fCount == original.fCount);

   RFeatureLoader applied(df, {"idx", "x", "vec", "label"}, FeatureOptions());
   applied.SetNormalization(loaded);
   auto a = fitted.Train().begin();
   for (const auto &batch : applied.Train()) {
      const auto x = batch.GetFeatures<float>(), y = (*a).GetFeatures<float>();
      for (std::size_t row = 0; row < batch.GetNumRows(); ++row)
         for (std::size_t i = 0; i < 4; ++i)
            RDL_CHECK_EQ(x(row, i), y(row, i));
      ++a;
   }

   ROOT::ML::RDataLoader<Long64_t, int> other(df, {"idx", "label"}, FeatureOptions());
   RDL_CHECK_THROWS(other.SetNormalization(loaded), std::invalid_argument, "other features than this loader's (idx)");
   std::ofstream(path) << "{\"columns\": [\"idx\"], \"methods\": [\"standard\"], \"shift\": [1, 2]}";
   RDL_CHECK_THROWS(ROOT::ML::RNormalization::Load(path), std::runtime_error, "\"shift\" has 2 values for 1 columns");
}

void PilesAreWrittenAgainWhenTheDeliveredRowsChange()
{
   RTempDir dir("piles_are_written_again_when_the_delivered_rows_change");
   ROOT::RDataFrame df("tree", WriteDataset(dir, {500}));
   auto options = FeatureOptions();
   options.fShuffle = ROOT::ML::EShuffle::kGlobal;
   options.fBalanceClasses = true;
   RFeatureLoader loader(df, {"idx", "x", "vec", "label"}, options);
   // Per training entry: its features idx and x, and its weight, as the epoch delivers them.
   auto read = [&] {
      std::map<double, std::pair<double, double>> rows;
      for (const auto &batch : loader.Train()) {
         const auto features = batch.GetFeatures<float>();
         const auto weights = batch.GetWeights<float>();
         for (std::size_t row = 0; row < batch.GetNumRows(); ++row)
            rows[features(row, 0)] = {features(row, 1), weights(row, 0)};
      }
      return rows;
   };
   // Each change is checked on its own epoch: a change that left the piles would deliver the rows written before.
   const auto raw = read(); // writes the piles
   loader.SetFeatureTransform({0., 0., 0., 0.}, {2., 2., 2., 2.});
   const auto transformed = read();
   loader.SetClassWeights({{0, 3.}, {1, 5.}});
   const auto reweighted = read();
   for (const auto *changed : {&transformed, &reweighted}) {
      RDL_CHECK_EQ(changed->size(), raw.size());
      for (const auto &[idx, row] : raw) {
         const auto found = changed->find(2. * idx);
         RDL_CHECK_MSG(found != changed->end(), "entry " + std::to_string(idx) + " delivered with its new transform");
         if (found == changed->end())
            continue;
         RDL_CHECK_EQ(found->second.first, 2. * row.first);
         const double weight = static_cast<std::int64_t>(idx) % 2 == 1 ? 5. : 3.;
         RDL_CHECK_EQ(found->second.second, changed == &reweighted ? weight : row.second);
      }
   }
}

void BalancedClassWeightsWeighEveryClassAlike()
{
   RTempDir dir("balanced_class_weights_weigh_every_class_alike");
   auto df = ROOT::RDataFrame("tree", WriteDataset(dir, {700, 300}))
                      .Define("cls", [](Long64_t idx) { return static_cast<int>(idx % 10 == 0); }, {"idx"});
   auto options = FeatureOptions();
   options.fTargets = {"cls"};
   ROOT::ML::RDataLoader<Long64_t, int> plain(df, {"idx", "cls"}, options);
   std::map<int, std::uint64_t> counts;
   for (const auto &batch : plain.Train())
      for (std::size_t row = 0; row < batch.GetNumRows(); ++row)
         ++counts[static_cast<std::int64_t>(batch.GetFeatures<float>()(row, 0)) % 10 == 0];
   const double total = counts[0] + counts[1];

   options.fBalanceClasses = true;
   ROOT::ML::RDataLoader<Long64_t, int> weighted(df, {"idx", "cls"}, options);
   const auto &weights = weighted.GetClassWeights();
   RDL_CHECK_EQ(weights.size(), 2u);
   for (const auto &[label, n] : counts)
      RDL_CHECK_MSG(weights.at(label) == total / (2. * n), "class " + std::to_string(label));
   for (const auto &batch : weighted.Train())
      for (std::size_t row = 0; row < batch.GetNumRows(); ++row) {
         const int label = static_cast<std::int64_t>(batch.GetFeatures<float>()(row, 0)) % 10 == 0;
         RDL_CHECK_EQ(batch.GetWeights<float>()(row, 0), static_cast<float>(weights.at(label)));
      }

   options.fClassWeights = {{0, 1.}, {1, 1.}};
   RDL_CHECK_THROWS((ROOT::ML::RDataLoader<Long64_t, int>(df, {"idx", "cls"}, options)), std::invalid_argument,
                    "choose either fBalanceClasses or given fClassWeights");
   options.fBalanceClasses = false;
   options.fClassWeights = {{0, 1.}};
   RDL_CHECK_THROWS((ROOT::ML::RDataLoader<Long64_t, int>(df, {"idx", "cls"}, options)), std::invalid_argument,
                    "no weight to class 1, present in the data");
   for (const double bad : {-0.5, std::nan(""), HUGE_VAL}) {
      options.fClassWeights = {{0, 1.}, {1, bad}};
      RDL_CHECK_THROWS((ROOT::ML::RDataLoader<Long64_t, int>(df, {"idx", "cls"}, options)), std::invalid_argument,
                       "the weight of class 1 must be a finite non-negative number");
   }
   options.fClassWeights.clear();
   options.fBalanceClasses = true;
   RDL_CHECK_THROWS((ROOT::ML::RDataLoader<Long64_t, int>(df.Filter([] { return false; }), {"idx", "cls"}, options)),
                    std::invalid_argument, "training split, which has no entries");
}

void ReweightingGivesEveryClassTheReferenceDistribution()
{
   RTempDir dir("reweighting_gives_every_class_the_reference_distribution");
   // Class 1 (idx % 10 == 0) sits at small x, class 0 all over: x = idx % 100 for class 0, idx % 30 for class 1.
   auto df = ROOT::RDataFrame("tree", WriteDataset(dir, {1000, 500}))
                .Define("cls", [](Long64_t idx) { return static_cast<int>(idx % 10 == 0); }, {"idx"})
                .Define("pos", [](Long64_t idx) { return static_cast<float>(idx % 10 == 0 ? idx % 30 : idx % 100); },
                        {"idx"});
   auto options = FeatureOptions();
   options.fTargets = {"cls"};
   options.fMaxVecSizes.clear();
   const std::vector<double> edges{0., 10., 20., 40., 100.};
   options.fReweight = {{"pos"}, {edges}};
   ROOT::ML::RDataLoader<float, int> loader(df, {"pos", "cls"}, options);

   // Per class, unweighted counts and weighted sums in the bins, from the delivered training batches.
   std::map<int, std::vector<double>> counts, sums;
   for (const auto &batch : loader.Train())
      for (std::size_t row = 0; row < batch.GetNumRows(); ++row) {
         const float pos = batch.GetFeatures<float>()(row, 0);
         const int cls = static_cast<int>(batch.GetTargets<float>()(row, 0));
         const auto bin = std::upper_bound(edges.begin(), edges.end(), pos) - edges.begin() - 1;
         counts[cls].resize(4), sums[cls].resize(4);
         counts[cls][bin] += 1;
         sums[cls][bin] += batch.GetWeights<float>()(row, 0);
      }
   // Flat reference over the 4 bins both classes fill together: every class's weight is a quarter of its
   // entries in each bin it fills.
   for (const auto &[cls, perBin] : counts) {
      const double total = std::accumulate(perBin.begin(), perBin.end(), 0.);
      for (std::size_t b = 0; b < 4; ++b)
         if (perBin[b] > 0)
            RDL_CHECK_MSG(std::abs(sums[cls][b] - total / 4.) < 1e-3 * total,
                          "class " + std::to_string(cls) + ", bin " + std::to_string(b));
   }
   RDL_CHECK_EQ(loader.GetReweighting().size(), 2u);
   // Class 0 holds a tenth of its entries in bin 0, and is weighted up there; class 1 has none in bin 3.
   RDL_CHECK(loader.GetReweighting().at(0)[0] > 2. && counts[1][3] == 0 && loader.GetReweighting().at(1)[3] == 0.);

   options.fReweight.fEdges = {{1., 1.}};
   RDL_CHECK_THROWS((ROOT::ML::RDataLoader<float, int>(df, {"pos", "cls"}, options)), std::invalid_argument,
                    "strictly increasing");
}

void PassesReportTheirProgress()
{
   RTempDir dir("passes_report_their_progress");
   auto df = ROOT::RDataFrame("tree", WriteDataset(dir, {600, 400})).Filter([](Long64_t idx) { return idx % 3 != 0; },
                                                                            {"idx"});
   auto options = FeatureOptions();
   options.fBalanceClasses = true;
   options.fNormalize = ENormalization::kStandard;
   options.fProgress = std::make_shared<ROOT::ML::RProgress>();
   RFeatureLoader loader(df, {"idx", "x", "vec", "label"}, options);
   // Counting the entries that pass (all 1000 looped over), the training classes, the normalisation fit: the
   // last pass is over, with every training entry done.
   const auto &progress = *options.fProgress;
   RDL_CHECK_EQ(progress.GetNumPasses(), 3u);
   RDL_CHECK(progress.GetTask() == ROOT::ML::EProgressTask::kNone);
   const auto training = loader.GetNumEntries(ESplit::kTrain);
   RDL_CHECK_EQ(progress.GetTotal(), training);
   RDL_CHECK_EQ(progress.GetDone(), training);

   // An epoch reports the entries it has read, up to all of them.
   const auto run = loader.StartEpoch(ESplit::kTrain, 0);
   while (run->Next())
      ;
   RDL_CHECK(run->GetProgress().GetTask() == ROOT::ML::EProgressTask::kLoadingSplit);
   RDL_CHECK_EQ(run->GetProgress().GetTotal(), training);
   RDL_CHECK_EQ(run->GetProgress().GetDone(), training);
}
