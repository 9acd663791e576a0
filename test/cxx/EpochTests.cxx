/// \file EpochTests.cxx
/// \brief Which entries an epoch delivers: coverage, splits, filters, several dataframes, order, stopping.

#include "RTestSupport.hxx"

#include <TFile.h>
#include <TROOT.h>
#include <TRandom3.h>
#include <TTree.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <memory>
#include <numeric>

using namespace RDataLoaderTest;
using ROOT::ML::ESplit;

namespace {

constexpr std::uint64_t kFileEntries[] = {1000, 700, 523};
constexpr std::int64_t kTotal = 2223;

std::vector<std::string> WriteThreeFiles(const RTempDir &dir)
{
   return WriteDataset(dir, {std::begin(kFileEntries), std::end(kFileEntries)});
}

std::vector<std::int64_t> Iota(std::int64_t first, std::int64_t n)
{
   std::vector<std::int64_t> v(n);
   std::iota(v.begin(), v.end(), first);
   return v;
}

std::vector<std::int64_t> Concat(std::vector<std::int64_t> a, const std::vector<std::int64_t> &b)
{
   a.insert(a.end(), b.begin(), b.end());
   return a;
}

std::vector<std::int64_t> Sorted(std::vector<std::int64_t> v)
{
   std::sort(v.begin(), v.end());
   return v;
}

/// Every batch is full but, without drop-remainder, the last one, which has GetLastBatchSize() rows.
void CheckBatchSizes(const REpochContent &content, const RIndexLoader &loader, ESplit split)
{
   const auto batchSize = loader.GetOptions().fBatchSize;
   RDL_CHECK_EQ(content.fBatchSizes.size(), loader.GetNumBatches(split));
   RDL_CHECK_EQ(content.fIndices.size(),
                (loader.GetNumBatches(split) - (loader.GetLastBatchSize(split) > 0)) * batchSize +
                   loader.GetLastBatchSize(split));
   for (std::size_t b = 0; b + 1 < content.fBatchSizes.size(); ++b)
      RDL_CHECK_EQ(content.fBatchSizes[b], batchSize);
   if (!content.fBatchSizes.empty()) {
      const auto last = loader.GetLastBatchSize(split);
      RDL_CHECK_EQ(content.fBatchSizes.back(), last > 0 ? last : batchSize);
   }
}

} // namespace

void EpochCoversEveryEntryOnce()
{
   RTempDir dir("epoch_covers_every_entry_once");
   ROOT::RDataFrame df("tree", WriteThreeFiles(dir));
   RIndexLoader loader(df, IndexColumns(), IndexOptions(64, 0.25, false));
   RDL_CHECK_EQ(loader.GetNumEntries(ESplit::kValidation), static_cast<std::uint64_t>(std::llround(0.25 * kTotal)));
   RDL_CHECK_EQ(loader.GetNumEntries(ESplit::kTrain) + loader.GetNumEntries(ESplit::kValidation),
                static_cast<std::uint64_t>(kTotal));

   const auto train = ReadEpoch(loader.Train());
   const auto validation = ReadEpoch(loader.Validation());
   CheckBatchSizes(train, loader, ESplit::kTrain);
   CheckBatchSizes(validation, loader, ESplit::kValidation);
   RDL_CHECK(loader.GetLastBatchSize(ESplit::kTrain) > 0);
   CheckSameEntries(Concat(train.fIndices, validation.fIndices), Iota(0, kTotal), "train + validation");
}

void DropRemainderDropsOnlyTheLastPartialBatch()
{
   RTempDir dir("drop_remainder_drops_only_the_last_partial_batch");
   ROOT::RDataFrame df("tree", WriteThreeFiles(dir));
   // Same seed, so both loaders split the dataset identically.
   RIndexLoader keeping(df, IndexColumns(), IndexOptions(64, 0.25, false));
   RIndexLoader dropping(df, IndexColumns(), IndexOptions(64, 0.25, true));
   for (auto split : {ESplit::kTrain, ESplit::kValidation}) {
      const auto all = Sorted(ReadEpoch(split == ESplit::kTrain ? keeping.Train() : keeping.Validation()).fIndices);
      const auto kept = ReadEpoch(split == ESplit::kTrain ? dropping.Train() : dropping.Validation());
      const std::string name = split == ESplit::kTrain ? "train" : "validation";
      RDL_CHECK_MSG(all.size() % 64 != 0, name + " split must have a partial batch to drop");
      RDL_CHECK_EQ(dropping.GetLastBatchSize(split), 0u);
      RDL_CHECK_EQ(dropping.GetNumBatches(split), all.size() / 64);
      CheckBatchSizes(kept, dropping, split);
      const auto delivered = Sorted(kept.fIndices);
      RDL_CHECK_MSG(std::adjacent_find(delivered.begin(), delivered.end()) == delivered.end(),
                    name + ": an entry was delivered twice");
      RDL_CHECK_MSG(std::includes(all.begin(), all.end(), delivered.begin(), delivered.end()),
                    name + ": an entry of the other split, or unknown, was delivered");
      RDL_CHECK_EQ(all.size() - delivered.size(), all.size() % 64);
   }
}

void FilteredDataFrameCoversPassingEntries()
{
   RTempDir dir("filtered_dataframe_covers_passing_entries");
   ROOT::RDataFrame df("tree", WriteThreeFiles(dir));
   auto passes = [](Long64_t idx) { return idx % 3 != 0 && idx % 7 != 0; };
   std::vector<std::int64_t> expected;
   for (std::int64_t idx = 0; idx < kTotal; ++idx)
      if (passes(idx))
         expected.push_back(idx);

   RIndexLoader loader(df.Filter(passes, {"idx"}), IndexColumns(), IndexOptions(50, 0.2, false));
   RDL_CHECK_EQ(loader.GetNumEntries(ESplit::kTrain) + loader.GetNumEntries(ESplit::kValidation), expected.size());
   const auto train = ReadEpoch(loader.Train());
   const auto validation = ReadEpoch(loader.Validation());
   CheckBatchSizes(train, loader, ESplit::kTrain);
   CheckSameEntries(Concat(train.fIndices, validation.fIndices), expected, "filtered train + validation");
}

void PassingMaskAnswersLikeTheListOfPassingEntries()
{
   // Runs of failing entries longer than a word, words without any passing entry, and a last partial word.
   const std::uint64_t entries = 389;
   std::vector<std::uint64_t> passing;
   ROOT::ML::Detail::RPassingMask mask(entries);
   for (std::uint64_t e = 0; e < entries; ++e)
      if ((e * 7919 % 11 < 3 && (e < 70 || e > 200)) || e == 131 || e == entries - 1) {
         passing.push_back(e);
         mask.Set(e);
      }
   RDL_CHECK(mask.IsRecorded());
   RDL_CHECK(!ROOT::ML::Detail::RPassingMask().IsRecorded());
   for (std::uint64_t rank = 0; rank < passing.size(); ++rank)
      RDL_CHECK_EQ(mask.Select(rank), passing[rank]);
   for (std::uint64_t begin = 0; begin <= entries; begin += 7)
      for (std::uint64_t end = begin; end <= entries; end += 13) {
         const auto inRange = std::count_if(passing.begin(), passing.end(),
                                            [&](std::uint64_t e) { return e >= begin && e < end; });
         RDL_CHECK_EQ(mask.Count(begin, end), static_cast<std::uint64_t>(inRange));
      }
   for (std::uint64_t offset = 0; offset < entries; ++offset)
      RDL_CHECK_EQ(mask.Passes(offset), std::binary_search(passing.begin(), passing.end(), offset));
}

void SeveralDataFramesFormOneDataset()
{
   RTempDir dir("several_dataframes_form_one_dataset");
   const auto files = WriteThreeFiles(dir);
   // A chain of two files, a filtered single file, and a dataframe without a file (read in one loop).
   ROOT::RDataFrame chain("tree", {files[0], files[1]});
   ROOT::RDataFrame single("tree", files[2]);
   const std::int64_t memoryFirst = 100000, memoryEntries = 150;
   auto memory = ROOT::RDataFrame(memoryEntries)
                    .Define("idx", [=](ULong64_t e) { return memoryFirst + static_cast<Long64_t>(e); }, {"rdfentry_"})
                    .Define("x", [](Long64_t idx) { return XOf(idx); }, {"idx"});
   auto even = [](Long64_t idx) { return idx % 2 == 0; };

   std::vector<std::int64_t> expected = Iota(0, 1700);
   for (std::int64_t idx = 1700; idx < kTotal; ++idx)
      if (even(idx))
         expected.push_back(idx);
   expected = Concat(expected, Iota(memoryFirst, memoryEntries));

   RIndexLoader loader({chain, single.Filter(even, {"idx"}), memory}, IndexColumns(), IndexOptions(64, 0.3, false));
   const auto train = ReadEpoch(loader.Train());
   const auto validation = ReadEpoch(loader.Validation());
   CheckSameEntries(Concat(train.fIndices, validation.fIndices), expected, "three dataframes");
   // Validation is drawn from the whole dataset, not from the last dataframe only.
   RDL_CHECK(std::any_of(validation.fIndices.begin(), validation.fIndices.end(),
                         [](std::int64_t idx) { return idx < 1700; }));
}

void ValidationSplitIsDisjointAndKeepsItsFraction()
{
   RTempDir dir("validation_split_is_disjoint_and_keeps_its_fraction");
   ROOT::RDataFrame df("tree", WriteThreeFiles(dir));
   const double fraction = 0.3;
   RIndexLoader loader(df, IndexColumns(), IndexOptions(32, fraction, false));
   const auto train = Sorted(ReadEpoch(loader.Train()).fIndices);
   const auto validation = Sorted(ReadEpoch(loader.Validation()).fIndices);
   std::vector<std::int64_t> common;
   std::set_intersection(train.begin(), train.end(), validation.begin(), validation.end(), std::back_inserter(common));
   RDL_CHECK_MSG(common.empty(), std::to_string(common.size()) + " entries in both splits");
   RDL_CHECK_EQ(validation.size(), static_cast<std::size_t>(std::llround(fraction * kTotal)));
   // The split is fixed for the loader's life: later epochs see the same entries.
   RDL_CHECK(Sorted(ReadEpoch(loader.Validation()).fIndices) == validation);
   RDL_CHECK(Sorted(ReadEpoch(loader.Train()).fIndices) == train);

   // With the remainder dropped, each split still holds its fraction of the data to within one batch.
   RIndexLoader dropping(df, IndexColumns(), IndexOptions(32, fraction, true));
   const auto keptValidation = ReadEpoch(dropping.Validation()).fIndices.size();
   const auto keptTrain = ReadEpoch(dropping.Train()).fIndices.size();
   RDL_CHECK_MSG(std::abs(static_cast<double>(keptValidation) - fraction * kTotal) < 32,
                 std::to_string(keptValidation) + " validation entries");
   RDL_CHECK_MSG(std::abs(static_cast<double>(keptTrain) - (1 - fraction) * kTotal) < 32,
                 std::to_string(keptTrain) + " train entries");
}

void SplitByKeyDependsOnTheKeyAlone()
{
   RTempDir dir("split_by_key_depends_on_the_key_alone");
   const auto files = WriteThreeFiles(dir);
   ROOT::RDataFrame threeFiles("tree", files);
   auto folds = IndexOptions(32, 0., false);
   folds.fSplitKey = "label"; // idx % 2, stored as int
   folds.fNumFolds = 2;
   folds.fFold = 1;
   RIndexLoader byFold(threeFiles, IndexColumns(), folds);
   std::vector<std::int64_t> even, odd;
   for (std::int64_t i = 0; i < kTotal; ++i)
      (i % 2 ? odd : even).push_back(i);
   CheckSameEntries(ReadEpoch(byFold.Validation()).fIndices, odd, "fold 1 of 2");
   CheckSameEntries(ReadEpoch(byFold.Train()).fIndices, even, "folds 0 of 2");
   RDL_CHECK_EQ(byFold.GetNumEntries(ESplit::kValidation), odd.size());

   // Negative keys fall in the fold of their mathematical residue, as Python's % would put them.
   auto negative = IndexOptions(32, 0., false);
   negative.fSplitKey = "minusIdx";
   negative.fNumFolds = 3;
   negative.fFold = 1;
   RIndexLoader byNegativeKey(threeFiles.Define("minusIdx", [](Long64_t idx) { return -idx; }, {"idx"}),
                              IndexColumns(), negative);
   std::vector<std::int64_t> residueOne;
   for (std::int64_t i = 0; i < kTotal; ++i)
      if (((-i % 3) + 3) % 3 == 1)
         residueOne.push_back(i);
   CheckSameEntries(ReadEpoch(byNegativeKey.Validation()).fIndices, residueOne, "fold 1 of 3 of negative keys");

   // A hash of the key: the same entries whatever the seed and however the entries are spread over
   // files and clusters, and the requested fraction up to binomial fluctuation.
   auto hashed = IndexOptions(32, 0.3, false);
   hashed.fSplitKey = "idx";
   RIndexLoader first(threeFiles, IndexColumns(), hashed);
   const auto validation = Sorted(ReadEpoch(first.Validation()).fIndices);
   const auto train = Sorted(ReadEpoch(first.Train()).fIndices);
   CheckSameEntries(Concat(train, validation), Iota(0, kTotal), "both splits");
   const double sigma = std::sqrt(0.3 * 0.7 * kTotal);
   RDL_CHECK_MSG(std::abs(static_cast<double>(validation.size()) - 0.3 * kTotal) < 4 * sigma,
                 std::to_string(validation.size()) + " validation entries of " + std::to_string(kTotal));

   RTempDir otherDir("split_by_key_depends_on_the_key_alone_one_file");
   ROOT::RDataFrame oneFile("tree", WriteDataset(otherDir, {static_cast<std::uint64_t>(kTotal)}, 37));
   hashed.fSeed = 999;
   RIndexLoader relaid(oneFile, IndexColumns(), hashed);
   RDL_CHECK(Sorted(ReadEpoch(relaid.Validation()).fIndices) == validation);
   relaid.SetSeed(4);
   RDL_CHECK(Sorted(ReadEpoch(relaid.Validation()).fIndices) == validation);

   auto unsplit = IndexOptions(32, 0., false);
   unsplit.fSplitKey = "idx";
   RDL_CHECK_THROWS(RIndexLoader(threeFiles, IndexColumns(), unsplit), std::invalid_argument,
                    "needs either fNumFolds or a positive fValidationSplit");
   auto wrongFold = folds;
   wrongFold.fFold = 2;
   RDL_CHECK_THROWS(RIndexLoader(threeFiles, IndexColumns(), wrongFold), std::invalid_argument, "fFold must be in");
   auto floatKey = folds;
   floatKey.fSplitKey = "x";
   RDL_CHECK_THROWS(RIndexLoader(threeFiles, IndexColumns(), floatKey), std::invalid_argument,
                    "must be an integer column");
}

void SameSeedGivesIdenticalEpochs()
{
   RTempDir dir("same_seed_gives_identical_epochs");
   ROOT::RDataFrame df("tree", WriteThreeFiles(dir));
   auto options = IndexOptions(64, 0.2, true);
   options.fSeed = 12345;
   RIndexLoader first(df, IndexColumns(), options);
   RIndexLoader second(df, IndexColumns(), options);
   auto identical = [](const REpochContent &a, const REpochContent &b) {
      return a.fBatchSizes == b.fBatchSizes && a.fIndices == b.fIndices && a.fTargets.size() == b.fTargets.size() &&
             std::memcmp(a.fTargets.data(), b.fTargets.data(), a.fTargets.size() * sizeof(float)) == 0;
   };
   for (int epoch = 0; epoch < 2; ++epoch) {
      RDL_CHECK_MSG(identical(ReadEpoch(first.Train()), ReadEpoch(second.Train())), "train epoch " + std::to_string(epoch));
      RDL_CHECK_MSG(identical(ReadEpoch(first.Validation()), ReadEpoch(second.Validation())),
                    "validation epoch " + std::to_string(epoch));
   }

   options.fSeed = 54321;
   RIndexLoader other(df, IndexColumns(), options);
   RIndexLoader reference(df, IndexColumns(), IndexOptions(64, 0.2, true));
   RDL_CHECK(ReadEpoch(other.Train()).fIndices != ReadEpoch(reference.Train()).fIndices);
}

void BasketReadingDeliversWhatTheEventLoopDelivers()
{
   RTempDir dir("basket_reading_delivers_what_the_event_loop_delivers");
   ROOT::RDataFrame df("tree", WriteThreeFiles(dir));
   auto options = IndexOptions(64, 0.2, false);
   RIndexLoader byBaskets(df, IndexColumns(), options);
   options.fReadThreads = 0;
   RIndexLoader byEventLoop(df, IndexColumns(), options);
   for (auto split : {ESplit::kTrain, ESplit::kValidation}) {
      const auto fromBaskets = ReadRunningEpoch(*byBaskets.StartEpoch(split));
      const auto fromEventLoop = ReadRunningEpoch(*byEventLoop.StartEpoch(split));
      RDL_CHECK(fromBaskets.fIndices == fromEventLoop.fIndices);
      RDL_CHECK(fromBaskets.fTargets == fromEventLoop.fTargets);
      RDL_CHECK_EQ(byBaskets.GetEpochStats().fEntriesFromSources, byBaskets.GetNumEntries(split));
      RDL_CHECK_EQ(byEventLoop.GetEpochStats().fEntriesFromSources, 0u);
   }
   // A filter runs once, when the entries are counted; epochs pick the passing entries out of the baskets.
   RIndexLoader filtered(df.Filter([](Long64_t idx) { return idx > 5; }, {"idx"}), IndexColumns(), IndexOptions(64, 0., false));
   CheckSameEntries(ReadRunningEpoch(*filtered.StartEpoch(ESplit::kTrain)).fIndices, Iota(6, kTotal - 6), "filtered");
   RDL_CHECK_EQ(filtered.GetEpochStats().fEntriesFromSources, static_cast<std::uint64_t>(kTotal - 6));
}

void BasketReaderKeepsNoLargeCompressedBasket()
{
   using namespace ROOT::ML::Detail;
   RTempDir dir("basket_reader_keeps_no_large_compressed_basket");
   const auto path = (dir.GetPath() / "large_baskets.root").string();
   constexpr Long64_t kEntries = 3000000;
   {
      TFile file(path.c_str(), "RECREATE");
      TTree tree("tree", "tree");
      Float_t x = 0;
      tree.Branch("x", &x, "x/F", 8 << 20);
      TRandom3 random(7);
      for (Long64_t i = 0; i < kEntries; ++i) {
         x = static_cast<Float_t>(random.Rndm());
         tree.Fill();
      }
      tree.FlushBaskets();
      file.Write();
   }
   std::unique_ptr<TFile> file(TFile::Open(path.c_str()));
   auto *branch = file->Get<TTree>("tree")->GetBranch("x");
   const RBranchBaskets baskets(*branch);
   // Random floats hardly compress: each basket of millions of them is megabytes, compressed too.
   RDL_CHECK(baskets.GetNumBaskets() >= 2);
   RDL_CHECK_EQ(baskets.fBytes.size(), baskets.GetNumBaskets()); // all on file, none in the tree's header
   for (std::size_t b = 0; b < baskets.GetNumBaskets(); ++b)
      RDL_CHECK(static_cast<std::size_t>(baskets.fBytes[b]) > 2 * RBasketLoader::kKeptCompressedBytes);
   RBasketLoader loader;
   RColumnChunk chunk;
   chunk.Clear(false, sizeof(float));
   ReadBranch(*file, baskets, ClassifyBranch(branch, NumbersOf<float>()), 0, kEntries, loader, chunk);

   RDL_CHECK_EQ(chunk.GetNumBytes(), kEntries * sizeof(float));
   const auto *values = reinterpret_cast<const float *>(chunk.GetValues());
   TRandom3 random(7);
   for (Long64_t i = 0; i < kEntries; ++i)
      if (values[i] != static_cast<Float_t>(random.Rndm()))
         throw RTestFailure("entry " + std::to_string(i) + " of x differs from the value written");
   // What stays: the largest basket decompressed (its entries, key and offsets), no compressed one.
   std::size_t largestEntries = 0;
   for (std::size_t b = 0; b < baskets.GetNumBaskets(); ++b)
      largestEntries = std::max<std::size_t>(largestEntries, baskets.fFirstEntries[b + 1] - baskets.fFirstEntries[b]);
   RDL_CHECK_MSG(loader.GetHeldBytes() <= largestEntries * sizeof(float) + RBasketLoader::kKeptCompressedBytes,
                 std::to_string(loader.GetHeldBytes()) + " bytes held");
}

void DefinesBesideStoredColumnsDeliverWhatTheEventLoopDelivers()
{
   RTempDir dir("defines_beside_stored_columns_deliver_what_the_event_loop_delivers");
   ROOT::RDataFrame df("tree", WriteThreeFiles(dir));
   // x is computed by the event loop, idx read from the baskets: ReadEpoch checks that each row's x is its idx's.
   auto defined = df.Filter([](Long64_t idx) { return idx % 3 != 0; }, {"idx"})
                     .Redefine("x", [](Long64_t idx) { return XOf(idx); }, {"idx"});
   auto options = IndexOptions(64, 0.2, false);
   RIndexLoader mixed(defined, IndexColumns(), options);
   options.fReadThreads = 0;
   RIndexLoader byEventLoop(defined, IndexColumns(), options);
   RDL_CHECK_EQ(mixed.GetReadPath(0, 0), std::string("TTree baskets"));
   RDL_CHECK_EQ(mixed.GetReadPath(0, 1), std::string("event loop (a Define)"));
   for (auto split : {ESplit::kTrain, ESplit::kValidation}) {
      const auto fromBoth = ReadRunningEpoch(*mixed.StartEpoch(split));
      const auto fromEventLoop = ReadRunningEpoch(*byEventLoop.StartEpoch(split));
      RDL_CHECK(fromBoth.fIndices == fromEventLoop.fIndices);
      RDL_CHECK(fromBoth.fTargets == fromEventLoop.fTargets);
      RDL_CHECK_EQ(mixed.GetEpochStats().fEntriesFromSources, mixed.GetNumEntries(split));
   }
}

void DataFramesBuiltPerThreadComputeTheirPartsOfTheSameBatches()
{
   RTempDir dir("dataframes_built_per_thread_compute_their_parts_of_the_same_batches");
   // Clusters of 40000 entries, 26667 of which pass: reads large enough to be cut into a part per build.
   const auto files = WriteDataset(dir, {80000, 40000}, 40000);
   // Per build, how many entries its event loops computed x for.
   std::vector<std::shared_ptr<std::atomic<std::uint64_t>>> computed;
   auto build = [&] {
      auto count = std::make_shared<std::atomic<std::uint64_t>>(0);
      computed.push_back(count);
      ROOT::RDataFrame df("tree", files);
      return std::vector<ROOT::RDF::RNode>{df.Filter([](Long64_t idx) { return idx % 3 != 0; }, {"idx"})
                                              .Redefine("x",
                                                        [count](Long64_t idx) {
                                                           ++*count;
                                                           return XOf(idx);
                                                        },
                                                        {"idx"})};
   };
   // No validation split, which would cut the clusters into smaller reads.
   auto options = IndexOptions(500, 0., false);
   RIndexLoader once(build(), IndexColumns(), options);
   options.fReadThreads = 3;
   RIndexLoader built(build, IndexColumns(), options);
   RDL_CHECK_EQ(computed.size(), 4u);
   RDL_CHECK_EQ(built.GetReadPath(0, 1), std::string("event loops of 3 builds (a Define)"));
   for (int epoch = 0; epoch < 2; ++epoch) {
      const auto expected = ReadEpoch(once.Train());
      const auto fromBuilds = ReadEpoch(built.Train());
      RDL_CHECK(fromBuilds.fIndices == expected.fIndices);
      RDL_CHECK(fromBuilds.fBatchSizes == expected.fBatchSizes);
   }
   for (std::size_t b = 1; b < computed.size(); ++b)
      RDL_CHECK_MSG(*computed[b] > 0, "build " + std::to_string(b - 1) + " computed no entry");

   auto sameGraph = [df = ROOT::RDF::RNode(ROOT::RDataFrame("tree", files))] {
      return std::vector<ROOT::RDF::RNode>{df};
   };
   RDL_CHECK_THROWS(RIndexLoader(sameGraph, IndexColumns(), options), std::invalid_argument,
                    "must create new RDataFrames");
}

void SuccessiveEpochsAreShuffledDifferently()
{
   RTempDir dir("successive_epochs_are_shuffled_differently");
   ROOT::RDataFrame df("tree", WriteThreeFiles(dir));
   RIndexLoader loader(df, IndexColumns(), IndexOptions(64, 0., false));
   const auto first = ReadEpoch(loader.Train()).fIndices;
   const auto second = ReadEpoch(loader.Train()).fIndices;
   RDL_CHECK_EQ(loader.GetNumEpochs(ESplit::kTrain), 2u);
   RDL_CHECK(first != second);
   CheckSameEntries(first, Iota(0, kTotal), "first epoch");
   CheckSameEntries(second, Iota(0, kTotal), "second epoch");
   // Entries are mixed within a batch, and the first window does not simply hold the first entries on disk.
   RDL_CHECK(!std::is_sorted(first.begin(), first.begin() + 64));
   RDL_CHECK(Sorted({first.begin(), first.begin() + 256}) != Iota(0, 256));
}

void UnshuffledEpochReadsEntriesInOrder()
{
   RTempDir dir("unshuffled_epoch_reads_entries_in_order");
   ROOT::RDataFrame df("tree", WriteThreeFiles(dir));
   auto options = IndexOptions(100, 0., false);
   options.fShuffle = ROOT::ML::EShuffle::kNone;
   RIndexLoader loader(df, IndexColumns(), options);
   RDL_CHECK(ReadEpoch(loader.Train()).fIndices == Iota(0, kTotal));
}

void GlobalShuffleDeliversUniformBatchesFromItsPiles()
{
   RTempDir dir("global_shuffle_delivers_uniform_batches_from_its_piles");
   ROOT::RDataFrame df("tree", WriteThreeFiles(dir));
   const auto piles = dir.GetPath() / "piles";
   std::filesystem::create_directory(piles);
   auto options = IndexOptions(64, 0.2, false);
   options.fShuffle = ROOT::ML::EShuffle::kGlobal;
   options.fCacheDirectory = piles.string();
   auto windowed = options;
   windowed.fShuffle = ROOT::ML::EShuffle::kWindow;
   windowed.fCacheDirectory.clear();
   RIndexLoader reference(df, IndexColumns(), windowed);
   const auto train = ReadEpoch(reference.Train()).fIndices;
   const auto validation = ReadEpoch(reference.Validation()).fIndices;
   {
      RIndexLoader loader(df, IndexColumns(), options);
      // The split of the windowed shuffle, every entry once per epoch, a new order each epoch.
      const auto first = ReadEpoch(loader.Train());
      const auto written = loader.GetEpochStats();
      const auto second = ReadEpoch(loader.Train());
      const auto read = loader.GetEpochStats();
      CheckSameEntries(first.fIndices, train, "first epoch");
      CheckSameEntries(second.fIndices, train, "second epoch");
      CheckSameEntries(ReadEpoch(loader.Validation()).fIndices, validation, "validation epoch");
      RDL_CHECK(first.fIndices != second.fIndices);
      RDL_CHECK_EQ(first.fBatchSizes.size(), loader.GetNumBatches(ESplit::kTrain));
      RDL_CHECK_EQ(first.fBatchSizes.back(), loader.GetLastBatchSize(ESplit::kTrain));
      // Every batch a sample of the whole split: a window shuffle's first batch would come from a few units.
      for (const auto *epoch : {&first, &second}) {
         const auto batch = std::minmax_element(epoch->fIndices.begin(), epoch->fIndices.begin() + 64);
         RDL_CHECK(*batch.second - *batch.first > kTotal / 2);
      }
      // The first epoch wrote one record (idx as int64, x as float32) per entry, the second read them back.
      std::uintmax_t onDisk = 0;
      for (const auto &file : std::filesystem::recursive_directory_iterator(piles))
         onDisk += file.is_regular_file() ? file.file_size() : 0;
      RDL_CHECK_EQ(written.fCacheBytes, train.size() * 12);
      RDL_CHECK_EQ(onDisk, (train.size() + validation.size()) * 12);
      RDL_CHECK(written.fSecondsBuildingCache > 0. && written.fBytesRead > 0);
      RDL_CHECK(read.fSecondsBuildingCache == 0. && read.fBytesRead == 0);
      RDL_CHECK_EQ(std::filesystem::path(read.fCacheDirectory).parent_path().parent_path(), piles);

      // A cache deleted behind the loader's back is written again, and gives the epoch it would have given.
      std::filesystem::remove_all(std::filesystem::path(read.fCacheDirectory));
      RDL_CHECK(loader.HasDamagedPiles(ESplit::kTrain) && !loader.HasDamagedPiles(ESplit::kValidation));
      const auto third = ReadEpoch(loader.Train()).fIndices;
      RIndexLoader undisturbed(df, IndexColumns(), options);
      ReadEpoch(undisturbed.Train());
      ReadEpoch(undisturbed.Train());
      RDL_CHECK(third == ReadEpoch(undisturbed.Train()).fIndices);

      // Piles hold the rows of one split as delivered: another seed's split is written anew.
      auto reseeded = windowed;
      reseeded.fSeed = options.fSeed + 1;
      RIndexLoader otherSplit(df, IndexColumns(), reseeded);
      loader.SetSeed(reseeded.fSeed);
      CheckSameEntries(ReadEpoch(loader.Train()).fIndices, ReadEpoch(otherSplit.Train()).fIndices, "reseeded epoch");
      RDL_CHECK_THROWS(loader.SetWorker(0, 2), std::invalid_argument, "reads its piles in one process");
   }
   RDL_CHECK(std::filesystem::is_empty(piles));

   auto eager = options;
   eager.fLoadEager = true;
   RDL_CHECK_THROWS(RIndexLoader(df, IndexColumns(), eager), std::invalid_argument, "choose one");
   auto ranks = options;
   ranks.fWorldSize = 2;
   RDL_CHECK_THROWS(RIndexLoader(df, IndexColumns(), ranks), std::invalid_argument, "fWorldSize > 1");
   RDL_CHECK_THROWS(RIndexLoader(df, IndexColumns(), [&] {
                       auto o = windowed;
                       o.fCacheDirectory = piles.string();
                       return o;
                    }()),
                    std::invalid_argument, "it needs fShuffle = EShuffle::kGlobal");
}

void OptionsAreDecidedOnceAndSpelledByTheCaller()
{
   RTempDir dir("options_are_decided_once_and_spelled_by_the_caller");
   ROOT::RDataFrame df("tree", WriteThreeFiles(dir));
   // The default window: as many batches as fit in 48 MiB, of rows of an int64 index and a float target.
   auto defaults = IndexOptions(64, 0.2, false);
   defaults.fBatchesInMemory = ROOT::ML::RDataLoaderOptions{}.fBatchesInMemory;
   const RIndexLoader loader(df, IndexColumns(), defaults);
   const std::uint64_t expected = (std::uint64_t{48} << 20) / (64 * (sizeof(std::int64_t) + sizeof(float)));
   RDL_CHECK_EQ(loader.GetWindowBatches(ESplit::kTrain), expected);
   RDL_CHECK_EQ(std::uint64_t{loader.GetOptions().fBatchesInMemory}, expected);

   auto eager = IndexOptions(64, 0.2, false);
   eager.fShuffle = ROOT::ML::EShuffle::kGlobal;
   eager.fLoadEager = true;
   const ROOT::ML::ROptionSpelling keywords{{"ROOT::ML::RDataLoader", "RDataLoader"},
                                            {"fShuffle = EShuffle::kGlobal", "shuffle='global'"},
                                            {"fLoadEager", "load_eager=True"}};
   bool refused = false;
   try {
      eager.Checked(IndexColumns(), 2, 1, keywords);
   } catch (const ROOT::ML::ROptionError &error) {
      refused = true;
      RDL_CHECK_EQ(error.GetOption(), std::string("fLoadEager"));
      RDL_CHECK_EQ(std::string(error.what()), std::string("RDataLoader: shuffle='global' cannot be combined with "
                                                          "load_eager=True, which already shuffles the whole split "
                                                          "in memory: choose one"));
   }
   RDL_CHECK(refused);
   RDL_CHECK_THROWS(RIndexLoader(df, IndexColumns(), eager), ROOT::ML::ROptionError,
                    "ROOT::ML::RDataLoader: fShuffle = EShuffle::kGlobal cannot be combined with fLoadEager");
}

void EarlyStopThenNewEpochIsComplete()
{
   RTempDir dir("early_stop_then_new_epoch_is_complete");
   ROOT::RDataFrame df("tree", WriteThreeFiles(dir));
   RIndexLoader loader(df, IndexColumns(), IndexOptions(64, 0.2, false));
   const auto train = ReadEpoch(loader.Train()).fIndices;

   // A batch taken before the epoch is abandoned must stay intact afterwards.
   auto abandonedRun = loader.StartEpoch(ESplit::kTrain);
   const std::shared_ptr<ROOT::ML::RBatch> kept = abandonedRun->Next();
   abandonedRun.reset();
   const auto keptView = kept->GetFeatures<std::int64_t>();
   const std::vector<std::int64_t> keptIndices(keptView.GetData(), keptView.GetData() + keptView.GetSize());

   // Leaving a range-for early leaves the loading thread blocked on a full queue.
   std::size_t seen = 0;
   for (const auto &batch : loader.Train()) {
      seen += batch.GetNumRows();
      if (seen >= 3 * 64)
         break;
   }
   RDL_CHECK_EQ(seen, 3u * 64);

   const auto afterStop = ReadEpoch(loader.Train());
   CheckBatchSizes(afterStop, loader, ESplit::kTrain);
   CheckSameEntries(afterStop.fIndices, train, "train epoch after an early stop");
   RDL_CHECK_EQ(loader.GetNumEpochs(ESplit::kTrain), 4u);
   RDL_CHECK(std::equal(keptIndices.begin(), keptIndices.end(), keptView.GetData()));

   // An abandoned train epoch does not disturb validation, nor does destroying a loader mid-epoch hang.
   RDL_CHECK_EQ(ReadEpoch(loader.Validation()).fIndices.size(), loader.GetNumEntries(ESplit::kValidation));
   {
      RIndexLoader abandoned(df, IndexColumns(), IndexOptions(16, 0., false));
      const auto run = abandoned.StartEpoch(ESplit::kTrain);
      RDL_CHECK(run->Next() != nullptr);
   }
   // The dataframe is whole again for the user's own actions once the loaders are done with it.
   RDL_CHECK_EQ(*df.Count(), static_cast<ULong64_t>(kTotal));
}

void ImplicitMultiThreadingKeepsEveryEntryOnceOrRefuses()
{
   RTempDir dir("implicit_multithreading_keeps_every_entry_once");
   const auto files = WriteThreeFiles(dir);
   // Dataframes created from now on run their event loops on several threads.
   ROOT::EnableImplicitMT(2);
   auto passes = [](Long64_t idx) { return idx % 3 != 0; };
   std::vector<std::int64_t> expected;
   for (std::int64_t idx = 0; idx < kTotal; ++idx)
      if (passes(idx))
         expected.push_back(idx);
   ROOT::RDataFrame chain("tree", files);
   RIndexLoader filtered(chain.Filter(passes, {"idx"}), IndexColumns(), IndexOptions(64, 0.2, false));
   RIndexLoader same(chain.Filter(passes, {"idx"}), IndexColumns(), IndexOptions(64, 0.2, false));
   RDL_CHECK_EQ(filtered.GetNumEntries(ESplit::kTrain) + filtered.GetNumEntries(ESplit::kValidation),
                expected.size());
   const auto train = ReadEpoch(filtered.Train());
   const auto validation = ReadEpoch(filtered.Validation());
   CheckSameEntries(Concat(train.fIndices, validation.fIndices), expected, "filtered chain with IMT");
   RDL_CHECK(ReadEpoch(same.Train()).fIndices == train.fIndices);

   // Without clusters the single loop is shared between threads, whose entries arrive in a different
   // order every time: neither the split nor the shuffle could be reproduced, so the loader refuses.
   auto memory = ROOT::RDataFrame(kTotal)
                    .Define("idx", [](ULong64_t e) { return static_cast<Long64_t>(e); }, {"rdfentry_"})
                    .Define("x", [](Long64_t idx) { return XOf(idx); }, {"idx"});
   RDL_CHECK(memory.GetNSlots() > 1);
   RDL_CHECK_THROWS(RIndexLoader(memory, IndexColumns(), IndexOptions(64, 0.2, false)), std::invalid_argument,
                    "implicit multi-threading");
}
