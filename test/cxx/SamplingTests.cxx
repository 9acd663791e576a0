/// \file SamplingTests.cxx
/// \brief Resampling towards balanced classes while streaming: exact class sizes, fresh draws each epoch.
/// (By target; resampling by dataframe, ROOT's meaning, is compared with ROOT's loader in test_compat_root.py.)

#include "RTestSupport.hxx"

#include <algorithm>
#include <map>
#include <set>

using namespace RDataLoaderTest;
using ROOT::ML::ESampling;
using ROOT::ML::ESplit;

namespace {

using RClassLoader = ROOT::ML::RDataLoader<Long64_t, int>;

/// Three files of 2223 entries, 223 of class 1 (idx % 10 == 0) and 2000 of class 0.
ROOT::RDF::RNode ImbalancedDataFrame(const RTempDir &dir)
{
   return ROOT::RDataFrame("tree", WriteDataset(dir, {1000, 700, 523}))
      .Define("cls", [](Long64_t idx) { return static_cast<int>(idx % 10 == 0); }, {"idx"});
}

int ClassOfIndex(std::int64_t idx)
{
   return idx % 10 == 0;
}

ROOT::ML::RDataLoaderOptions SamplingOptions(ESampling sampling, double ratio, bool replacement)
{
   ROOT::ML::RDataLoaderOptions options;
   options.fBatchSize = 32;
   options.fBatchesInMemory = 4;
   options.fDropRemainder = false;
   options.fTargets = {"cls"};
   options.fValidationSplit = 0.2;
   options.fSeed = 77;
   options.fSampling = sampling;
   options.fResampleBy = ROOT::ML::ESampleBy::kTarget;
   options.fSamplingRatio = ratio;
   options.fReplacement = replacement;
   return options;
}

/// The idx of every row, in delivery order, checking that each row's label is the class of its idx.
std::vector<std::int64_t> ReadIndices(ROOT::ML::REpochRun &run)
{
   std::vector<std::int64_t> indices;
   while (const auto batch = run.Next()) {
      const auto features = batch->GetFeatures<float>();
      const auto labels = batch->GetTargets<float>();
      for (std::size_t row = 0; row < batch->GetNumRows(); ++row) {
         const auto idx = static_cast<std::int64_t>(features(row, 0));
         RDL_CHECK_EQ(static_cast<int>(labels(row, 0)), ClassOfIndex(idx));
         indices.push_back(idx);
      }
   }
   return indices;
}

std::vector<std::int64_t> ReadEpochOf(RClassLoader &loader, ESplit split)
{
   return ReadIndices(*loader.StartEpoch(split));
}

/// How many times each idx was delivered.
std::map<std::int64_t, std::uint64_t> Copies(const std::vector<std::int64_t> &indices)
{
   std::map<std::int64_t, std::uint64_t> copies;
   for (auto idx : indices)
      ++copies[idx];
   return copies;
}

/// The entries of each class in the training split, from a loader with the same split and no resampling.
std::map<int, std::set<std::int64_t>> TrainingEntries(ROOT::RDF::RNode df, ROOT::ML::RDataLoaderOptions options)
{
   options.fSampling = ESampling::kNone;
   RClassLoader plain(df, {"idx", "cls"}, options);
   std::map<int, std::set<std::int64_t>> entries;
   for (auto idx : ReadEpochOf(plain, ESplit::kTrain))
      entries[ClassOfIndex(idx)].insert(idx);
   return entries;
}

} // namespace

void UndersamplingCutsTheMajorityAfreshEachEpoch()
{
   RTempDir dir("undersampling_cuts_the_majority_afresh_each_epoch");
   auto df = ImbalancedDataFrame(dir);
   const auto options = SamplingOptions(ESampling::kUndersampling, 0.5, false);
   const auto train = TrainingEntries(df, options);
   RClassLoader loader(df, {"idx", "cls"}, options);
   const auto minority = train.at(1).size();
   const auto planned = loader.GetResampledClasses();
   RDL_CHECK_EQ(planned.at(1).second, minority);
   RDL_CHECK_EQ(planned.at(0).second, 2 * minority);
   RDL_CHECK_EQ(loader.GetNumEntries(ESplit::kTrain), 3 * minority);

   std::vector<std::set<std::int64_t>> majorityDrawn;
   for (int epoch = 0; epoch < 2; ++epoch) {
      const auto copies = Copies(ReadEpochOf(loader, ESplit::kTrain));
      std::set<std::int64_t> drawn;
      std::uint64_t minorityDelivered = 0;
      for (const auto &[idx, n] : copies) {
         RDL_CHECK_MSG(n == 1, "entry " + std::to_string(idx) + " delivered " + std::to_string(n) + " times");
         RDL_CHECK_MSG(train.at(ClassOfIndex(idx)).count(idx), "entry " + std::to_string(idx) + " is no training entry");
         if (ClassOfIndex(idx))
            ++minorityDelivered;
         else
            drawn.insert(idx);
      }
      RDL_CHECK_EQ(minorityDelivered, minority);
      RDL_CHECK_EQ(drawn.size(), 2 * minority);
      majorityDrawn.push_back(drawn);
   }
   RDL_CHECK_MSG(majorityDrawn[0] != majorityDrawn[1], "both epochs drew the same majority entries");

   // Validation keeps the true mixture of classes.
   const auto validation = ReadEpochOf(loader, ESplit::kValidation);
   RDL_CHECK_EQ(validation.size(), loader.GetNumEntries(ESplit::kValidation));
   RDL_CHECK_EQ(validation.size(), static_cast<std::size_t>(std::llround(0.2 * 2223)));
   RDL_CHECK(Copies(validation).size() == validation.size());
}

void OversamplingRepeatsTheMinorityEvenly()
{
   RTempDir dir("oversampling_repeats_the_minority_evenly");
   auto df = ImbalancedDataFrame(dir);
   const auto options = SamplingOptions(ESampling::kOversampling, 1.0, false);
   const auto train = TrainingEntries(df, options);
   RClassLoader loader(df, {"idx", "cls"}, options);
   const auto majority = train.at(0).size();
   const auto minority = train.at(1).size();
   const auto copies = Copies(ReadEpochOf(loader, ESplit::kTrain));
   std::uint64_t minorityDelivered = 0;
   for (const auto &[idx, n] : copies) {
      if (!ClassOfIndex(idx)) {
         RDL_CHECK_EQ(n, 1u);
         continue;
      }
      minorityDelivered += n;
      RDL_CHECK_MSG(n == majority / minority || n == majority / minority + 1,
                    "minority entry delivered " + std::to_string(n) + " times");
   }
   RDL_CHECK_EQ(copies.size(), majority + minority);
   RDL_CHECK_EQ(minorityDelivered, majority);
}

void ResamplingWithReplacementDrawsIndependently()
{
   RTempDir dir("resampling_with_replacement_draws_independently");
   auto df = ImbalancedDataFrame(dir);
   for (auto sampling : {ESampling::kUndersampling, ESampling::kOversampling}) {
      const auto options = SamplingOptions(sampling, 1.0, true);
      const auto train = TrainingEntries(df, options);
      RClassLoader loader(df, {"idx", "cls"}, options);
      const auto indices = ReadEpochOf(loader, ESplit::kTrain);
      std::map<int, std::uint64_t> perClass;
      std::uint64_t most = 0;
      for (const auto &[idx, n] : Copies(indices)) {
         perClass[ClassOfIndex(idx)] += n;
         if (ClassOfIndex(idx) == (sampling == ESampling::kUndersampling ? 0 : 1))
            most = std::max(most, n);
      }
      // Each class gets exactly its planned size; the resampled class shows the spread of
      // independent draws (repeats under undersampling, far more than ceil(k / n) under oversampling).
      const auto size = sampling == ESampling::kUndersampling ? train.at(1).size() : train.at(0).size();
      RDL_CHECK_EQ(perClass[0], size);
      RDL_CHECK_EQ(perClass[1], size);
      const auto evenMost = sampling == ESampling::kUndersampling ? 1u : train.at(0).size() / train.at(1).size() + 1;
      RDL_CHECK_MSG(most > evenMost, "at most " + std::to_string(most) + " copies of an entry");
   }
}

void ResampledEpochResumes()
{
   RTempDir dir("resampled_epoch_resumes");
   auto df = ImbalancedDataFrame(dir);
   const auto options = SamplingOptions(ESampling::kUndersampling, 0.7, true);
   RClassLoader reference(df, {"idx", "cls"}, options);
   ReadEpochOf(reference, ESplit::kTrain);
   const auto full = ReadEpochOf(reference, ESplit::kTrain);
   RClassLoader resumed(df, {"idx", "cls"}, options);
   for (std::uint64_t skip : {std::uint64_t{5}, std::uint64_t{8}}) {
      resumed.SetNumEpochs(ESplit::kTrain, 1);
      const auto rest = ReadIndices(*resumed.StartEpoch(ESplit::kTrain, skip));
      RDL_CHECK_MSG(std::vector<std::int64_t>(full.begin() + skip * 32, full.end()) == rest,
                    "resuming after " + std::to_string(skip) + " batches");
   }
}

void InvalidResamplingIsRejected()
{
   RTempDir dir("invalid_resampling_is_rejected");
   auto df = ImbalancedDataFrame(dir);
   auto ratio = SamplingOptions(ESampling::kUndersampling, 0., false);
   RDL_CHECK_THROWS(RClassLoader(df, {"idx", "cls"}, ratio), std::invalid_argument, "fSamplingRatio must be in (0, 1]");
   auto weighted = SamplingOptions(ESampling::kUndersampling, 1., false);
   weighted.fBalanceClasses = true;
   RDL_CHECK_THROWS(RClassLoader(df, {"idx", "cls"}, weighted), std::invalid_argument, "not both");
   auto distributed = SamplingOptions(ESampling::kOversampling, 1., false);
   distributed.fWorldSize = 2;
   RDL_CHECK_THROWS(RClassLoader(df, {"idx", "cls"}, distributed), std::invalid_argument, "fWorldSize > 1");
   RDL_CHECK_THROWS(RClassLoader(df.Filter([](int c) { return c == 0; }, {"cls"}), {"idx", "cls"},
                                 SamplingOptions(ESampling::kOversampling, 1., false)),
                    std::invalid_argument, "at least two classes");
   auto byDataFrame = SamplingOptions(ESampling::kUndersampling, 1., false);
   byDataFrame.fResampleBy = ROOT::ML::ESampleBy::kDataFrame;
   RDL_CHECK_THROWS(RClassLoader(df, {"idx", "cls"}, byDataFrame), std::invalid_argument,
                    "needs exactly two dataframes, the majority and the minority; got 1");
}
