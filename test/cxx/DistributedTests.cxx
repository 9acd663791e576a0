/// \file DistributedTests.cxx
/// \brief Shards of an epoch for distributed training, and epochs resumed from a saved position.

#include "RTestSupport.hxx"

#include <algorithm>
#include <cstring>
#include <memory>

using namespace RDataLoaderTest;
using ROOT::ML::ESplit;

namespace {

std::vector<std::string> WriteThreeFiles(const RTempDir &dir)
{
   return WriteDataset(dir, {1000, 700, 523});
}

std::vector<std::int64_t> Sorted(std::vector<std::int64_t> v)
{
   std::sort(v.begin(), v.end());
   return v;
}

RIndexLoader::REpoch EpochOf(RIndexLoader &loader, ESplit split)
{
   return split == ESplit::kTrain ? loader.Train() : loader.Validation();
}

/// The batches of `full` from batch `first` on, bit for bit.
bool IsTail(const REpochContent &tail, const REpochContent &full, std::size_t first, std::size_t batchSize)
{
   if (first > full.fBatchSizes.size())
      return false;
   const std::vector<std::size_t> sizes(full.fBatchSizes.begin() + first, full.fBatchSizes.end());
   const auto row = std::min(first * batchSize, full.fIndices.size());
   const std::vector<std::int64_t> indices(full.fIndices.begin() + row, full.fIndices.end());
   return tail.fBatchSizes == sizes && tail.fIndices == indices && tail.fTargets.size() == indices.size() &&
          std::memcmp(tail.fTargets.data(), full.fTargets.data() + row, indices.size() * sizeof(float)) == 0;
}

} // namespace

void ShardsAreDisjointEqualAndCoverTheEpoch()
{
   RTempDir dir("shards_are_disjoint_equal_and_cover_the_epoch");
   ROOT::RDataFrame df("tree", WriteThreeFiles(dir));
   constexpr std::size_t kWorld = 3;
   auto options = IndexOptions(64, 0.2, false);
   RIndexLoader whole(df, IndexColumns(), options);
   std::vector<std::unique_ptr<RIndexLoader>> ranks;
   for (std::size_t rank = 0; rank < kWorld; ++rank) {
      options.fRank = rank;
      options.fWorldSize = kWorld;
      ranks.push_back(std::make_unique<RIndexLoader>(df, IndexColumns(), options));
   }
   for (auto split : {ESplit::kTrain, ESplit::kValidation}) {
      const std::string name = split == ESplit::kTrain ? "train" : "validation";
      // The same seed draws the same split whatever the number of processes.
      const auto splitEntries = Sorted(ReadEpoch(EpochOf(whole, split)).fIndices);
      const auto wholeBytes = whole.GetEpochStats().fBytesRead;
      const auto shardEntries = splitEntries.size() / kWorld;
      RDL_CHECK_MSG(splitEntries.size() % kWorld != 0, name + " must leave entries that fit no shard");
      std::vector<std::int64_t> firstShardOfEpoch0;
      for (int epoch = 0; epoch < 2; ++epoch) {
         std::vector<std::int64_t> all;
         for (std::size_t rank = 0; rank < kWorld; ++rank) {
            auto &loader = *ranks[rank];
            RDL_CHECK_EQ(loader.GetNumEntries(split), shardEntries);
            RDL_CHECK_EQ(loader.GetNumBatches(split), ranks[0]->GetNumBatches(split));
            const auto shard = ReadEpoch(EpochOf(loader, split));
            RDL_CHECK_EQ(shard.fBatchSizes.size(), loader.GetNumBatches(split));
            RDL_CHECK_EQ(shard.fIndices.size(), shardEntries);
            // Each process reads its shard: about a third of the files, not all of them.
            if (split == ESplit::kTrain)
               RDL_CHECK_MSG(loader.GetEpochStats().fBytesRead < 0.6 * wholeBytes,
                             std::to_string(loader.GetEpochStats().fBytesRead) + " bytes read by a shard, " +
                                std::to_string(wholeBytes) + " by the whole epoch");
            if (rank == 0 && epoch == 0)
               firstShardOfEpoch0 = Sorted(shard.fIndices);
            if (rank == 0 && epoch == 1)
               RDL_CHECK_MSG(Sorted(shard.fIndices) != firstShardOfEpoch0, name + ": shards change between epochs");
            all.insert(all.end(), shard.fIndices.begin(), shard.fIndices.end());
         }
         all = Sorted(all);
         RDL_CHECK_MSG(std::adjacent_find(all.begin(), all.end()) == all.end(), name + ": shards overlap");
         RDL_CHECK_MSG(std::includes(splitEntries.begin(), splitEntries.end(), all.begin(), all.end()),
                       name + ": a shard holds an entry of the other split");
         RDL_CHECK_EQ(all.size(), kWorld * shardEntries);
      }
   }
}

void ResumedEpochDeliversTheRemainingBatches()
{
   RTempDir dir("resumed_epoch_delivers_the_remaining_batches");
   ROOT::RDataFrame df("tree", WriteThreeFiles(dir));
   struct RCase {
      const char *fName;
      ROOT::ML::EShuffle fShuffle;
      bool fLoadEager;
      std::size_t fRank;
      std::size_t fWorldSize;
   };
   using ROOT::ML::EShuffle;
   for (const auto &c : {RCase{"shuffled", EShuffle::kWindow, false, 0, 1}, RCase{"unshuffled", EShuffle::kNone, false, 0, 1},
                         RCase{"eager", EShuffle::kWindow, true, 0, 1}, RCase{"second of two ranks", EShuffle::kWindow, false, 1, 2},
                         RCase{"global", EShuffle::kGlobal, false, 0, 1}}) {
      auto options = IndexOptions(32, 0.2, true);
      options.fShuffle = c.fShuffle;
      options.fLoadEager = c.fLoadEager;
      options.fRank = c.fRank;
      options.fWorldSize = c.fWorldSize;
      RIndexLoader reference(df, IndexColumns(), options);
      ReadEpoch(reference.Train());
      const auto full = ReadEpoch(reference.Train());
      const auto fullBytes = reference.GetEpochStats().fBytesRead;
      const auto batches = reference.GetNumBatches(ESplit::kTrain);

      RIndexLoader resumed(df, IndexColumns(), options);
      // 5: inside the second window of 4 batches; 8: at a window boundary; all: nothing left.
      for (std::uint64_t skip : {std::uint64_t{0}, std::uint64_t{5}, std::uint64_t{8}, batches - 3, batches}) {
         const std::string what = std::string(c.fName) + ", skipping " + std::to_string(skip);
         resumed.SetNumEpochs(ESplit::kTrain, 1);
         const auto rest = ReadRunningEpoch(*resumed.StartEpoch(ESplit::kTrain, skip));
         RDL_CHECK_MSG(IsTail(rest, full, skip, 32), what);
         RDL_CHECK_EQ(resumed.GetNumEpochs(ESplit::kTrain), 2u);
         // The skipped batches of the window where delivery resumes are not even copied.
         RDL_CHECK_EQ(resumed.GetEpochStats().fEntriesRead, rest.fIndices.size());
         // Windows that hold only skipped batches are not read. An epoch read as several streams reads, for its
         // last windows, the last unit of every stream: those are fewer than all units, but not half of them.
         const auto stats = resumed.GetEpochStats();
         // The exact shuffle reads the files once, when the first epoch writes its piles.
         if (c.fShuffle == EShuffle::kGlobal)
            RDL_CHECK_MSG((stats.fBytesRead > 0) == (skip == 0), what);
         else if (!c.fLoadEager && skip == batches - 3)
            RDL_CHECK_MSG(stats.fBytesRead < (stats.fStreams == 1 ? fullBytes / 2 : fullBytes * 3 / 4),
                          what + ": " + std::to_string(stats.fBytesRead) + " bytes read in " +
                             std::to_string(stats.fStreams) + " streams, " + std::to_string(fullBytes) +
                             " for the whole epoch");
      }
      RDL_CHECK_THROWS(resumed.StartEpoch(ESplit::kTrain, batches + 1), std::invalid_argument, "cannot skip");
   }
}

void SetSeedDrawsTheSplitOfThatSeed()
{
   RTempDir dir("set_seed_draws_the_split_of_that_seed");
   ROOT::RDataFrame df("tree", WriteThreeFiles(dir));
   auto options = IndexOptions(64, 0.2, false);
   RIndexLoader reseeded(df, IndexColumns(), options);
   const auto before = Sorted(ReadEpoch(reseeded.Validation()).fIndices);
   options.fSeed = 99;
   RIndexLoader reference(df, IndexColumns(), options);
   reseeded.SetSeed(99);
   reseeded.SetNumEpochs(ESplit::kValidation, 0);
   RDL_CHECK_EQ(reseeded.GetOptions().fSeed, 99u);
   const auto validation = ReadEpoch(reseeded.Validation()).fIndices;
   RDL_CHECK(Sorted(validation) != before);
   RDL_CHECK(validation == ReadEpoch(reference.Validation()).fIndices);
   RDL_CHECK(ReadEpoch(reseeded.Train()).fIndices == ReadEpoch(reference.Train()).fIndices);
}

void DatasetDigestIdentifiesTheEntriesRead()
{
   RTempDir dir("dataset_digest_identifies_the_entries_read");
   const auto files = WriteThreeFiles(dir);
   ROOT::RDataFrame df("tree", files);
   auto options = IndexOptions(64, 0., false);
   const auto digest = RIndexLoader(df, IndexColumns(), options).GetDatasetDigest();
   options.fSeed = 5;
   RDL_CHECK_EQ(RIndexLoader(ROOT::RDataFrame("tree", files), IndexColumns(), options).GetDatasetDigest(), digest);
   auto even = [](Long64_t idx) { return idx % 2 == 0; };
   RDL_CHECK(RIndexLoader(df.Filter(even, {"idx"}), IndexColumns(), options).GetDatasetDigest() != digest);
   RDL_CHECK(RIndexLoader(ROOT::RDataFrame("tree", {files[0], files[1]}), IndexColumns(), options)
                .GetDatasetDigest() != digest);
}

void RankOutsideWorldIsRejected()
{
   RTempDir dir("rank_outside_world_is_rejected");
   ROOT::RDataFrame df("tree", WriteDataset(dir, {100}));
   auto options = IndexOptions(16, 0., false);
   options.fWorldSize = 0;
   RDL_CHECK_THROWS(RIndexLoader(df, IndexColumns(), options), std::invalid_argument, "fWorldSize must be positive");
   options.fWorldSize = 2;
   options.fRank = 2;
   RDL_CHECK_THROWS(RIndexLoader(df, IndexColumns(), options), std::invalid_argument,
                    "fRank must be in [0, fWorldSize)");
}
