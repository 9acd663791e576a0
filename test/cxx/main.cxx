/// \file main.cxx
/// \brief Driver of the C++ tests: `rdataloader_test <name>` runs one test, without arguments all of them.
///
/// Each test is registered with ctest under its name (test/cxx/CMakeLists.txt reads the names from the
/// table below), so that a failure names the behaviour that broke.

#include "RTestSupport.hxx"

#include <cstring>
#include <exception>
#include <iostream>

void EpochCoversEveryEntryOnce();
void DropRemainderDropsOnlyTheLastPartialBatch();
void FilteredDataFrameCoversPassingEntries();
void PassingMaskAnswersLikeTheListOfPassingEntries();
void SeveralDataFramesFormOneDataset();
void ValidationSplitIsDisjointAndKeepsItsFraction();
void SplitByKeyDependsOnTheKeyAlone();
void UndersamplingCutsTheMajorityAfreshEachEpoch();
void OversamplingRepeatsTheMinorityEvenly();
void ResamplingWithReplacementDrawsIndependently();
void ResampledEpochResumes();
void InvalidResamplingIsRejected();
void NormalizationIsFittedOnTheTrainingSplit();
void SavedNormalizationLoadsExactlyAndReproducesTheBatches();
void BalancedClassWeightsWeighEveryClassAlike();
void PilesAreWrittenAgainWhenTheDeliveredRowsChange();
void SameSeedGivesIdenticalEpochs();
void BasketReadingDeliversWhatTheEventLoopDelivers();
void BasketReaderKeepsNoLargeCompressedBasket();
void DefinesBesideStoredColumnsDeliverWhatTheEventLoopDelivers();
void DataFramesBuiltPerThreadComputeTheirPartsOfTheSameBatches();
void SuccessiveEpochsAreShuffledDifferently();
void UnshuffledEpochReadsEntriesInOrder();
void GlobalShuffleDeliversUniformBatchesFromItsPiles();
void OptionsAreDecidedOnceAndSpelledByTheCaller();
void EarlyStopThenNewEpochIsComplete();
void ImplicitMultiThreadingKeepsEveryEntryOnceOrRefuses();
void TensorViewShapesAndElementAccess();
void Int64DTypeKeepsLargeIntegersExactly();
void OutOfRangeDTypeConversionThrows();
void VectorColumnsArePaddedAndTruncated();
void ZeroBatchSizeIsRejected();
void UnknownTargetIsRejected();
void WeightsWithoutTargetAreRejected();
void VectorColumnWithoutMaxSizeIsRejected();
void InconsistentColumnsAreRejected();
void ValidationSplitOutsideUnitIntervalIsRejected();
void ShardsAreDisjointEqualAndCoverTheEpoch();
void ResumedEpochDeliversTheRemainingBatches();
void SetSeedDrawsTheSplitOfThatSeed();
void DatasetDigestIdentifiesTheEntriesRead();
void RankOutsideWorldIsRejected();
void PaddedCollectionHasMaskPaddingAndKeyOrder();
void PackedCollectionHoldsObjectsBackToBack();
void CollectionFieldsOfDifferentLengthsThrow();
void InvalidCollectionsAreRejected();
void LengthDistributionGivesQuantilesAndTruncation();
void SavedEpochReadsBackAsTheSameBatches();
void ReweightingGivesEveryClassTheReferenceDistribution();
void PassesReportTheirProgress();

namespace {

struct RTest {
   const char *fName;
   void (*fRun)();
};

// clang-format off
constexpr RTest kTests[] = {
   {"epoch_covers_every_entry_once", EpochCoversEveryEntryOnce},
   {"drop_remainder_drops_only_the_last_partial_batch", DropRemainderDropsOnlyTheLastPartialBatch},
   {"filtered_dataframe_covers_passing_entries", FilteredDataFrameCoversPassingEntries},
   {"passing_mask_answers_like_the_list_of_passing_entries", PassingMaskAnswersLikeTheListOfPassingEntries},
   {"several_dataframes_form_one_dataset", SeveralDataFramesFormOneDataset},
   {"validation_split_is_disjoint_and_keeps_its_fraction", ValidationSplitIsDisjointAndKeepsItsFraction},
   {"split_by_key_depends_on_the_key_alone", SplitByKeyDependsOnTheKeyAlone},
   {"same_seed_gives_identical_epochs", SameSeedGivesIdenticalEpochs},
   {"global_shuffle_delivers_uniform_batches_from_its_piles", GlobalShuffleDeliversUniformBatchesFromItsPiles},
   {"options_are_decided_once_and_spelled_by_the_caller", OptionsAreDecidedOnceAndSpelledByTheCaller},
   {"basket_reading_delivers_what_the_event_loop_delivers", BasketReadingDeliversWhatTheEventLoopDelivers},
   {"basket_reader_keeps_no_large_compressed_basket", BasketReaderKeepsNoLargeCompressedBasket},
   {"defines_beside_stored_columns_deliver_what_the_event_loop_delivers", DefinesBesideStoredColumnsDeliverWhatTheEventLoopDelivers},
   {"dataframes_built_per_thread_compute_their_parts_of_the_same_batches", DataFramesBuiltPerThreadComputeTheirPartsOfTheSameBatches},
   {"undersampling_cuts_the_majority_afresh_each_epoch", UndersamplingCutsTheMajorityAfreshEachEpoch},
   {"oversampling_repeats_the_minority_evenly", OversamplingRepeatsTheMinorityEvenly},
   {"resampling_with_replacement_draws_independently", ResamplingWithReplacementDrawsIndependently},
   {"resampled_epoch_resumes", ResampledEpochResumes},
   {"invalid_resampling_is_rejected", InvalidResamplingIsRejected},
   {"normalization_is_fitted_on_the_training_split", NormalizationIsFittedOnTheTrainingSplit},
   {"saved_normalization_loads_exactly_and_reproduces_the_batches", SavedNormalizationLoadsExactlyAndReproducesTheBatches},
   {"balanced_class_weights_weigh_every_class_alike", BalancedClassWeightsWeighEveryClassAlike},
   {"piles_are_written_again_when_the_delivered_rows_change", PilesAreWrittenAgainWhenTheDeliveredRowsChange},
   {"successive_epochs_are_shuffled_differently", SuccessiveEpochsAreShuffledDifferently},
   {"unshuffled_epoch_reads_entries_in_order", UnshuffledEpochReadsEntriesInOrder},
   {"early_stop_then_new_epoch_is_complete", EarlyStopThenNewEpochIsComplete},
   {"implicit_multithreading_keeps_every_entry_once_or_refuses", ImplicitMultiThreadingKeepsEveryEntryOnceOrRefuses},
   {"tensor_view_shapes_and_element_access", TensorViewShapesAndElementAccess},
   {"int64_dtype_keeps_large_integers_exactly", Int64DTypeKeepsLargeIntegersExactly},
   {"out_of_range_dtype_conversion_throws", OutOfRangeDTypeConversionThrows},
   {"vector_columns_are_padded_and_truncated", VectorColumnsArePaddedAndTruncated},
   {"zero_batch_size_is_rejected", ZeroBatchSizeIsRejected},
   {"unknown_target_is_rejected", UnknownTargetIsRejected},
   {"weights_without_target_are_rejected", WeightsWithoutTargetAreRejected},
   {"vector_column_without_max_size_is_rejected", VectorColumnWithoutMaxSizeIsRejected},
   {"inconsistent_columns_are_rejected", InconsistentColumnsAreRejected},
   {"validation_split_outside_unit_interval_is_rejected", ValidationSplitOutsideUnitIntervalIsRejected},
   {"shards_are_disjoint_equal_and_cover_the_epoch", ShardsAreDisjointEqualAndCoverTheEpoch},
   {"resumed_epoch_delivers_the_remaining_batches", ResumedEpochDeliversTheRemainingBatches},
   {"set_seed_draws_the_split_of_that_seed", SetSeedDrawsTheSplitOfThatSeed},
   {"dataset_digest_identifies_the_entries_read", DatasetDigestIdentifiesTheEntriesRead},
   {"rank_outside_world_is_rejected", RankOutsideWorldIsRejected},
   {"padded_collection_has_mask_padding_and_key_order", PaddedCollectionHasMaskPaddingAndKeyOrder},
   {"packed_collection_holds_objects_back_to_back", PackedCollectionHoldsObjectsBackToBack},
   {"collection_fields_of_different_lengths_throw", CollectionFieldsOfDifferentLengthsThrow},
   {"invalid_collections_are_rejected", InvalidCollectionsAreRejected},
   {"length_distribution_gives_quantiles_and_truncation", LengthDistributionGivesQuantilesAndTruncation},
   {"saved_epoch_reads_back_as_the_same_batches", SavedEpochReadsBackAsTheSameBatches},
   {"reweighting_gives_every_class_the_reference_distribution", ReweightingGivesEveryClassTheReferenceDistribution},
   {"passes_report_their_progress", PassesReportTheirProgress},
};
// clang-format on

bool Run(const RTest &test)
{
   try {
      test.fRun();
      std::cout << "PASSED " << test.fName << std::endl;
      return true;
   } catch (const RDataLoaderTest::RTestFailure &failure) {
      std::cerr << "FAILED " << test.fName << ": " << failure.what() << std::endl;
   } catch (const std::exception &error) {
      std::cerr << "FAILED " << test.fName << ": unexpected exception: " << error.what() << std::endl;
   }
   return false;
}

} // namespace

int main(int argc, char **argv)
{
   if (argc > 2) {
      std::cerr << "usage: " << argv[0] << " [test name]" << std::endl;
      return 2;
   }
   bool ok = true;
   bool found = false;
   for (const auto &test : kTests) {
      if (argc == 2 && std::strcmp(argv[1], test.fName) != 0)
         continue;
      found = true;
      ok = Run(test) && ok;
   }
   if (!found) {
      std::cerr << "no test named '" << argv[1] << "'; known tests:" << std::endl;
      for (const auto &test : kTests)
         std::cerr << "  " << test.fName << std::endl;
      return 2;
   }
   return ok ? 0 : 1;
}
