/// \file RTestSupport.hxx
/// \brief Assertions, temporary datasets and epoch readers shared by the C++ tests of ROOT::ML::RDataLoader.

#ifndef ROOT_ML_Test_RTestSupport
#define ROOT_ML_Test_RTestSupport

#include "ROOT/ML/RDataLoader.hxx"

#include <ROOT/RDataFrame.hxx>

#include <RtypesCore.h>

#include <cstdint>
#include <filesystem>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

namespace RDataLoaderTest {

/// Thrown by a failed check; the test driver prints it and exits with a non-zero status.
class RTestFailure : public std::runtime_error {
public:
   using std::runtime_error::runtime_error;
};

inline std::string Where(const char *file, int line)
{
   return std::filesystem::path(file).filename().string() + ":" + std::to_string(line) + ": ";
}

inline void Check(bool ok, const char *expression, const char *file, int line, const std::string &detail = "")
{
   if (!ok)
      throw RTestFailure(Where(file, line) + "check failed: " + expression + (detail.empty() ? "" : " (" + detail + ")"));
}

template <typename A, typename B>
void CheckEqual(const A &a, const B &b, const char *exprA, const char *exprB, const char *file, int line)
{
   if (!(a == b)) {
      std::ostringstream message;
      message << Where(file, line) << exprA << " == " << exprB << " failed: " << a << " != " << b;
      throw RTestFailure(message.str());
   }
}

} // namespace RDataLoaderTest

/// Fails the running test, naming the expression, unless `cond` holds.
#define RDL_CHECK(cond) ::RDataLoaderTest::Check(static_cast<bool>(cond), #cond, __FILE__, __LINE__)
/// As RDL_CHECK, with a message built from `detail` (anything convertible to std::string).
#define RDL_CHECK_MSG(cond, detail) ::RDataLoaderTest::Check(static_cast<bool>(cond), #cond, __FILE__, __LINE__, detail)
/// Fails unless a == b, printing both values.
#define RDL_CHECK_EQ(a, b) ::RDataLoaderTest::CheckEqual((a), (b), #a, #b, __FILE__, __LINE__)
/// Fails unless `statement` throws `Exception` whose what() contains `text`.
#define RDL_CHECK_THROWS(statement, Exception, text)                                                           \
   do {                                                                                                        \
      bool thrown = false;                                                                                     \
      try {                                                                                                    \
         statement;                                                                                            \
      } catch (const Exception &e) {                                                                           \
         thrown = true;                                                                                        \
         ::RDataLoaderTest::Check(std::string(e.what()).find(text) != std::string::npos,                       \
                                  "message contains \"" text "\"", __FILE__, __LINE__, e.what());              \
      }                                                                                                        \
      ::RDataLoaderTest::Check(thrown, #statement " throws " #Exception, __FILE__, __LINE__);                  \
   } while (false)

namespace RDataLoaderTest {

/// A directory of its own for one test process, removed with everything in it when the test ends.
class RTempDir {
   std::filesystem::path fPath;

public:
   explicit RTempDir(const std::string &testName);
   ~RTempDir();
   RTempDir(const RTempDir &) = delete;
   RTempDir &operator=(const RTempDir &) = delete;
   const std::filesystem::path &GetPath() const { return fPath; }
};

/// The value every test dataset stores in column "x" for the entry with index `idx`.
inline float XOf(Long64_t idx)
{
   return 0.5f * static_cast<float>(idx) - 3.f;
}

/// \brief Writes TTree "tree" files with one entry per index, so that a test can tell which entries it got.
///
/// Columns: idx (Long64_t, unique across files, starting at 0), x (float, XOf(idx)), label (int, idx % 2),
/// vec (RVec<float> of idx % 5 elements, 10 * idx + k). Files are written with fAutoFlush entries per
/// cluster, so that each file has several clusters and the loader several reading units.
std::vector<std::string> WriteDataset(const RTempDir &dir, const std::vector<std::uint64_t> &entriesPerFile,
                                      int autoFlush = 100);

/// The loader most tests use: "idx" as int64 features, "x" as float32 targets.
using RIndexLoader = ROOT::ML::RDataLoader<Long64_t, float>;
inline std::vector<std::string> IndexColumns()
{
   return {"idx", "x"};
}
ROOT::ML::RDataLoaderOptions IndexOptions(std::size_t batchSize, double validationSplit, bool dropRemainder);

/// What one epoch of one split delivered, in delivery order.
struct REpochContent {
   std::vector<std::int64_t> fIndices;   ///< The "idx" of each row.
   std::vector<float> fTargets;          ///< The "x" of each row.
   std::vector<std::size_t> fBatchSizes; ///< Rows of each batch.
};

/// Runs one epoch of an RIndexLoader split, checking that each row's target belongs to its index.
REpochContent ReadEpoch(RIndexLoader::REpoch epoch);
/// As ReadEpoch, for an epoch started with RIndexLoader::StartEpoch().
REpochContent ReadRunningEpoch(ROOT::ML::REpochRun &run);

/// Fails unless `indices` holds each element of `expected` exactly once and nothing else.
void CheckSameEntries(std::vector<std::int64_t> indices, std::vector<std::int64_t> expected, const std::string &what);

} // namespace RDataLoaderTest

#endif
