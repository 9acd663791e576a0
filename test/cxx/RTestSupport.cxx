/// \file RTestSupport.cxx
/// \brief Temporary datasets and checks shared by the C++ tests of ROOT::ML::RDataLoader.

#include "RTestSupport.hxx"

#include <ROOT/RSnapshotOptions.hxx>
#include <ROOT/RVec.hxx>
#include <TFile.h>
#include <TTree.h>

#include <algorithm>
#include <iterator>
#include <system_error>
#include <unistd.h>

namespace RDataLoaderTest {

RTempDir::RTempDir(const std::string &testName)
   : fPath(std::filesystem::temp_directory_path() /
           ("rdataloader_" + testName + "_" + std::to_string(static_cast<long>(::getpid()))))
{
   std::filesystem::remove_all(fPath);
   std::filesystem::create_directories(fPath);
}

RTempDir::~RTempDir()
{
   std::error_code ignored;
   std::filesystem::remove_all(fPath, ignored);
}

std::vector<std::string> WriteDataset(const RTempDir &dir, const std::vector<std::uint64_t> &entriesPerFile,
                                      int autoFlush)
{
   std::vector<std::string> files;
   Long64_t first = 0;
   for (std::size_t f = 0; f < entriesPerFile.size(); ++f) {
      const auto path = (dir.GetPath() / ("data_" + std::to_string(f) + ".root")).string();
      ROOT::RDF::RSnapshotOptions options;
      options.fAutoFlush = autoFlush;
      ROOT::RDataFrame(entriesPerFile[f])
         .Define("idx", [first](ULong64_t entry) { return first + static_cast<Long64_t>(entry); }, {"rdfentry_"})
         .Define("x", [](Long64_t idx) { return XOf(idx); }, {"idx"})
         .Define("label", [](Long64_t idx) { return static_cast<int>(idx % 2); }, {"idx"})
         .Define("vec",
                 [](Long64_t idx) {
                    ROOT::RVecF v(idx % 5);
                    for (std::size_t k = 0; k < v.size(); ++k)
                       v[k] = static_cast<float>(10 * idx + static_cast<Long64_t>(k));
                    return v;
                 },
                 {"idx"})
         .Snapshot("tree", path, {"idx", "x", "label", "vec"}, options);
      // The tests rely on several reading units per file; fail here, not in a puzzling coverage check.
      if (autoFlush > 0 && entriesPerFile[f] > static_cast<std::uint64_t>(autoFlush)) {
         TFile file(path.c_str());
         auto clusters = file.Get<TTree>("tree")->GetClusterIterator(0);
         clusters.Next();
         RDL_CHECK_EQ(clusters.GetNextEntry(), static_cast<Long64_t>(autoFlush));
      }
      files.push_back(path);
      first += static_cast<Long64_t>(entriesPerFile[f]);
   }
   return files;
}

ROOT::ML::RDataLoaderOptions IndexOptions(std::size_t batchSize, double validationSplit, bool dropRemainder)
{
   ROOT::ML::RDataLoaderOptions options;
   options.fBatchSize = batchSize;
   // A window smaller than a file, so that epochs span several windows and shuffled units.
   options.fBatchesInMemory = 4;
   options.fValidationSplit = validationSplit;
   options.fDropRemainder = dropRemainder;
   options.fTargets = {"x"};
   options.fDTypes = {{"idx", ROOT::ML::EDType::kInt64}};
   return options;
}

namespace {

void Append(REpochContent &content, const ROOT::ML::RBatch &batch)
{
   const auto features = batch.GetFeatures<std::int64_t>();
   const auto targets = batch.GetTargets<float>();
   content.fBatchSizes.push_back(batch.GetNumRows());
   for (std::size_t row = 0; row < batch.GetNumRows(); ++row) {
      content.fIndices.push_back(features(row, 0));
      content.fTargets.push_back(targets(row, 0));
      RDL_CHECK_EQ(targets(row, 0), XOf(features(row, 0)));
   }
}

} // namespace

REpochContent ReadEpoch(RIndexLoader::REpoch epoch)
{
   REpochContent content;
   for (const auto &batch : epoch)
      Append(content, batch);
   return content;
}

REpochContent ReadRunningEpoch(ROOT::ML::REpochRun &run)
{
   REpochContent content;
   while (const auto batch = run.Next())
      Append(content, *batch);
   return content;
}

void CheckSameEntries(std::vector<std::int64_t> indices, std::vector<std::int64_t> expected, const std::string &what)
{
   std::sort(indices.begin(), indices.end());
   std::sort(expected.begin(), expected.end());
   const auto duplicate = std::adjacent_find(indices.begin(), indices.end());
   RDL_CHECK_MSG(duplicate == indices.end(),
                 what + ": entry " + (duplicate == indices.end() ? "" : std::to_string(*duplicate)) +
                    " delivered more than once");
   std::vector<std::int64_t> missing, unexpected;
   std::set_difference(expected.begin(), expected.end(), indices.begin(), indices.end(), std::back_inserter(missing));
   std::set_difference(indices.begin(), indices.end(), expected.begin(), expected.end(),
                       std::back_inserter(unexpected));
   RDL_CHECK_MSG(missing.empty(), what + ": " + std::to_string(missing.size()) + " entries missing, first " +
                                     (missing.empty() ? "" : std::to_string(missing.front())));
   RDL_CHECK_MSG(unexpected.empty(), what + ": " + std::to_string(unexpected.size()) +
                                        " entries not expected, first " +
                                        (unexpected.empty() ? "" : std::to_string(unexpected.front())));
}

} // namespace RDataLoaderTest
