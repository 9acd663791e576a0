/// \file CollectionTests.cxx
/// \brief Object collections: padded values with masks, packed values with offsets, ordering by a key,
/// truncation counts, mismatched lengths, refused options, and the length distribution.

#include "RTestSupport.hxx"

#include "ROOT/ML/RLengthDistribution.hxx"

#include <algorithm>
#include <cstdint>
#include <string>
#include <vector>

using namespace RDataLoaderTest;
using ROOT::ML::ECollectionLayout;
using ROOT::ML::EDType;

namespace {

/// The dataset of WriteDataset with a second field, "neg" = -vec, and a sort key "rank" = position in vec.
ROOT::RDF::RNode WithFields(const std::vector<std::string> &files)
{
   return ROOT::RDataFrame("tree", files)
      .Define("neg", [](const ROOT::RVecF &v) { return -v; }, {"vec"})
      .Define("rank",
              [](const ROOT::RVecF &v) {
                 ROOT::RVecD r(v.size());
                 for (std::size_t k = 0; k < r.size(); ++k)
                    r[k] = static_cast<double>(k);
                 return r;
              },
              {"vec"});
}

/// Reads "rank" too, to order the objects by it.
using RSortedLoader = ROOT::ML::RDataLoader<Long64_t, ROOT::RVecF, ROOT::RVecF, ROOT::RVecD>;
using RCollectionLoader = ROOT::ML::RDataLoader<Long64_t, ROOT::RVecF, ROOT::RVecF>;

ROOT::ML::RDataLoaderOptions CollectionOptions(ECollectionLayout layout, const std::string &sortBy)
{
   ROOT::ML::RDataLoaderOptions options;
   options.fBatchSize = 32;
   options.fBatchesInMemory = 3;
   options.fDropRemainder = false;
   options.fVecPadding = -1.;
   options.fDTypes = {{"idx", EDType::kInt64}};
   ROOT::ML::RCollectionOptions objects;
   objects.fName = "objects";
   objects.fFields = {"vec", "neg"};
   objects.fMaxLength = 3;
   objects.fSortBy = sortBy;
   objects.fLayout = layout;
   options.fCollections = {objects};
   return options;
}

/// Entries of WriteDataset hold idx % 5 objects: with a maximum of 3, entries with 4 lose one.
std::uint64_t DroppedObjects(std::int64_t entries)
{
   std::uint64_t dropped = 0;
   for (std::int64_t idx = 0; idx < entries; ++idx)
      dropped += idx % 5 > 3 ? idx % 5 - 3 : 0;
   return dropped;
}

} // namespace

void PaddedCollectionHasMaskPaddingAndKeyOrder()
{
   RTempDir dir("padded_collection_has_mask_padding_and_key_order");
   RSortedLoader loader(WithFields(WriteDataset(dir, {230, 170})), {"idx", "vec", "neg", "rank"},
                        CollectionOptions(ECollectionLayout::kPadded, "rank"));
   RDL_CHECK_EQ(loader.GetLayout()[0].fWidth, 1u); // only idx is a flat feature
   std::vector<std::int64_t> seen;
   for (const auto &batch : loader.Train()) {
      RDL_CHECK_EQ(batch.GetNumCollections(), 1u);
      RDL_CHECK_EQ(batch.GetCollectionIndex("objects"), 0u);
      const auto idx = batch.GetFeatures<std::int64_t>();
      const auto values = batch.GetCollection<float>(0);
      const auto mask = batch.GetCollectionMask(0);
      RDL_CHECK(values.GetShape() == (std::array<std::size_t, 2>{batch.GetNumRows() * 3, 2}));
      RDL_CHECK(mask.GetShape() == (std::array<std::size_t, 2>{batch.GetNumRows(), 3}));
      for (std::size_t row = 0; row < batch.GetNumRows(); ++row) {
         const auto entry = idx(row);
         seen.push_back(entry);
         const std::size_t length = entry % 5;
         for (std::size_t j = 0; j < 3; ++j) {
            const auto object = row * 3 + j;
            RDL_CHECK_EQ(mask(row, j), j < length);
            // The largest rank first: the stored order reversed, the first objects being the ones dropped.
            const float expected = j < length ? static_cast<float>(10 * entry + static_cast<std::int64_t>(length - 1 - j))
                                              : -1.f;
            RDL_CHECK_EQ(values(object, 0), expected);
            RDL_CHECK_EQ(values(object, 1), j < length ? -expected : -1.f);
         }
      }
   }
   std::vector<std::int64_t> all(400);
   for (std::size_t i = 0; i < all.size(); ++i)
      all[i] = static_cast<std::int64_t>(i);
   CheckSameEntries(seen, all, "padded collection epoch");
   RDL_CHECK_EQ(loader.GetEpochStats().fTruncatedObjects.size(), 1u);
   RDL_CHECK_EQ(loader.GetEpochStats().fTruncatedObjects[0], DroppedObjects(400));
}

void PackedCollectionHoldsObjectsBackToBack()
{
   RTempDir dir("packed_collection_holds_objects_back_to_back");
   RCollectionLoader loader(WithFields(WriteDataset(dir, {250})), {"idx", "vec", "neg"},
                            CollectionOptions(ECollectionLayout::kPacked, ""));
   std::size_t rows = 0;
   for (const auto &batch : loader.Train()) {
      const auto idx = batch.GetFeatures<std::int64_t>();
      const auto values = batch.GetCollection<float>(0);
      const auto offsets = batch.GetCollectionOffsets(0);
      RDL_CHECK_EQ(offsets.GetRank(), 1u);
      RDL_CHECK_EQ(offsets.GetShape()[0], batch.GetNumRows() + 1);
      RDL_CHECK_EQ(offsets(0), 0);
      RDL_CHECK_EQ(static_cast<std::size_t>(offsets(batch.GetNumRows())), values.GetShape()[0]);
      RDL_CHECK_THROWS(batch.GetCollectionMask(0), std::logic_error, "is packed");
      for (std::size_t row = 0; row < batch.GetNumRows(); ++row, ++rows) {
         const auto entry = idx(row);
         const auto kept = std::min<std::int64_t>(entry % 5, 3);
         RDL_CHECK_EQ(offsets(row + 1) - offsets(row), kept);
         for (std::int64_t j = 0; j < kept; ++j) {
            const auto object = static_cast<std::size_t>(offsets(row) + j);
            RDL_CHECK_EQ(values(object, 0), static_cast<float>(10 * entry + j)); // stored order
            RDL_CHECK_EQ(values(object, 1), -static_cast<float>(10 * entry + j));
         }
      }
   }
   RDL_CHECK_EQ(rows, 250u);
   RDL_CHECK_EQ(loader.GetEpochStats().fTruncatedObjects[0], DroppedObjects(250));
}

void CollectionFieldsOfDifferentLengthsThrow()
{
   RTempDir dir("collection_fields_of_different_lengths_throw");
   const auto files = WriteDataset(dir, {250});
   ROOT::RDF::RNode intact = ROOT::RDataFrame("tree", files).Define("neg", "-vec");
   ROOT::RDF::RNode broken = ROOT::RDataFrame("tree", files)
                                .Define("neg",
                                        [](const ROOT::RVecF &v, Long64_t idx) {
                                           return idx == 142 ? ROOT::RVecF(v.size() + 1, 0.f) : ROOT::RVecF(-v);
                                        },
                                        {"vec", "idx"});
   RCollectionLoader loader(std::vector<ROOT::RDF::RNode>{intact, broken}, {"idx", "vec", "neg"},
                            CollectionOptions(ECollectionLayout::kPadded, ""));
   // The error names the dataframe it came from, as a member of its type and in its message.
   std::size_t failed = 0;
   RDL_CHECK_THROWS(
      try {
         for (const auto &batch : loader.Train())
            static_cast<void>(batch);
      } catch (const ROOT::ML::RReadError &error) {
         failed = error.GetDataFrame();
         throw;
      },
      ROOT::ML::RReadError,
      "of dataframe 1 failed: ROOT::ML::RDataLoader: collection 'objects': entry 142 has 2 values in column 'vec' "
      "but 3 in column 'neg'");
   RDL_CHECK_EQ(failed, 1u);
}

void InvalidCollectionsAreRejected()
{
   RTempDir dir("invalid_collections_are_rejected");
   const auto files = WriteDataset(dir, {50});
   auto make = [&](const std::string &field, std::size_t maxLength, const std::string &sortBy) {
      auto options = CollectionOptions(ECollectionLayout::kPadded, sortBy);
      options.fCollections[0].fFields = {"vec", field};
      options.fCollections[0].fMaxLength = maxLength;
      RSortedLoader loader(WithFields(files), {"idx", "vec", "neg", "rank"}, options);
   };
   RDL_CHECK_THROWS(make("nosuchcolumn", 3, ""), std::invalid_argument, "names column 'nosuchcolumn'");
   RDL_CHECK_THROWS(make("idx", 3, ""), std::invalid_argument, "which is not a vector column");
   RDL_CHECK_THROWS(make("vec", 3, ""), std::invalid_argument, "column 'vec' is named twice");
   RDL_CHECK_THROWS(make("neg", 0, ""), std::invalid_argument, "needs a positive fMaxLength");
   RDL_CHECK_THROWS(make("neg", 3, "x"), std::invalid_argument, "names column 'x'");
}

void LengthDistributionGivesQuantilesAndTruncation()
{
   RTempDir dir("length_distribution_gives_quantiles_and_truncation");
   ROOT::RDataFrame df("tree", WriteDataset(dir, {250}));
   auto lengths = ROOT::ML::BookLengthDistributions(df, {"vec"});
   const auto &distribution = *lengths[0];
   RDL_CHECK(distribution.GetCounts() == (std::vector<std::uint64_t>{50, 50, 50, 50, 50}));
   RDL_CHECK_EQ(distribution.GetNumEntries(), 250u);
   RDL_CHECK_EQ(distribution.GetQuantile(0.2), 0u); // exactly 20% hold no object
   RDL_CHECK_EQ(distribution.GetQuantile(0.5), 2u);
   RDL_CHECK_EQ(distribution.GetQuantile(1.), 4u);
   RDL_CHECK_EQ(distribution.GetNumTruncated(3), DroppedObjects(250));
   RDL_CHECK_THROWS(distribution.GetQuantile(0.), std::invalid_argument, "(0, 1]");
}
