/// \file RDataLoader.cxx
/// \brief Compiles every header of the engine and instantiates it for each kind of column type it accepts,
/// so that a template error shows up when rdataloader is built rather than in a user's program.

#include "ROOT/ML/Detail/RCollectionWriter.hxx"
#include "ROOT/ML/Detail/RColumnWriter.hxx"
#include "ROOT/ML/Detail/RDeferredForeach.hxx"
#include "ROOT/ML/Detail/REpochProducer.hxx"
#include "ROOT/ML/Detail/RRandom.hxx"
#include "ROOT/ML/Detail/RReadingPlan.hxx"
#include "ROOT/ML/Detail/RReservedMemory.hxx"
#include "ROOT/ML/Detail/RShuffleBuffer.hxx"
#include "ROOT/ML/RBatch.hxx"
#include "ROOT/ML/RBatchQueue.hxx"
#include "ROOT/ML/RDataLoader.hxx"
#include "ROOT/ML/RDataLoaderOptions.hxx"
#include "ROOT/ML/RLengthDistribution.hxx"
#include "ROOT/ML/RTensorView.hxx"

#include <ROOT/RVec.hxx>

#include <RtypesCore.h>

#include <array>
#include <cstdint>
#include <vector>

// Scalars of every width and signedness, as branches commonly hold them.
template class ROOT::ML::RDataLoader<float, int>;
template class ROOT::ML::RDataLoader<double, Long64_t, ULong64_t, bool>;
template class ROOT::ML::RDataLoader<char, unsigned char, short, unsigned short, unsigned int>;
// The three vector kinds a column can hold; without std::array (a Define), sources can read them all.
template class ROOT::ML::RDataLoader<ROOT::RVecF, std::vector<int>, std::array<double, 3>, float>;
template class ROOT::ML::RDataLoader<ROOT::RVecF, std::vector<int>, ROOT::RVec<Long64_t>, bool>;

// One view per dtype width that batches are read back with.
template class ROOT::ML::RTensorView<float>;
template class ROOT::ML::RTensorView<double>;
template class ROOT::ML::RTensorView<std::int64_t>;
template class ROOT::ML::RTensorView<std::uint8_t>;
