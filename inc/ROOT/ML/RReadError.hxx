/// \file ROOT/ML/RReadError.hxx
/// \brief The error of an epoch whose input could not be read, naming the dataframe it came from.

#ifndef ROOT_ML_RReadError
#define ROOT_ML_RReadError

#include <cstddef>
#include <stdexcept>
#include <string>

namespace ROOT {
namespace ML {

/// \brief Reading a loader's input failed during an epoch: a file, basket or page could not be read or
/// decoded, the event loop threw, or the input no longer holds the entries counted when the loader was
/// created. Raised by the loading thread and rethrown where the batches are taken.
///
/// It carries the index of the dataframe (in the list given to the loader) whose reading failed, so that
/// a caller can name its files without parsing the message.
class RReadError : public std::runtime_error {
   std::size_t fDataFrame;

public:
   RReadError(std::size_t dataFrame, const std::string &what) : std::runtime_error(what), fDataFrame(dataFrame) {}
   /// The index of the dataframe whose reading failed, in the list given to the loader.
   std::size_t GetDataFrame() const { return fDataFrame; }
};

} // namespace ML
} // namespace ROOT

#endif
