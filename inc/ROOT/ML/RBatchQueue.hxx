/// \file ROOT/ML/RBatchQueue.hxx
/// \brief Bounded hand-over of finished batches from the loading thread to the consumer.

#ifndef ROOT_ML_RBatchQueue
#define ROOT_ML_RBatchQueue

#include "ROOT/ML/RBatch.hxx"

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <deque>
#include <exception>
#include <memory>
#include <mutex>

namespace ROOT {
namespace ML {

/// \brief A bounded queue of batches with an explicit producer state.
///
/// The producer blocks in Push() while the queue is full; the consumer blocks in Pop() while it is empty.
/// Close() (consumer side) wakes a blocked producer, whose Push() then returns false so that it can stop.
/// A producer failure is stored and rethrown by Pop() in the consumer's thread.
class RBatchQueue {
public:
   enum class EState { kRunning, kFinished, kFailed, kClosed };

private:
   std::size_t fCapacity;
   std::deque<std::shared_ptr<RBatch>> fBatches;
   EState fState = EState::kRunning;
   std::exception_ptr fError;
   mutable std::mutex fMutex;
   std::condition_variable fNotFull;
   mutable std::condition_variable fNotEmpty; ///< Waited on by the const WaitForNext() too.

public:
   explicit RBatchQueue(std::size_t capacity) : fCapacity(capacity > 0 ? capacity : 1) {}

   /// Producer: publish a finished batch. Returns false if the consumer closed the queue.
   bool Push(std::shared_ptr<RBatch> batch)
   {
      std::unique_lock<std::mutex> lock(fMutex);
      fNotFull.wait(lock, [this] { return fBatches.size() < fCapacity || fState == EState::kClosed; });
      if (fState == EState::kClosed)
         return false;
      fBatches.push_back(std::move(batch));
      fNotEmpty.notify_one();
      return true;
   }

   /// Producer: no more batches will come.
   void Finish() { SetEnd(EState::kFinished, nullptr); }
   /// Producer: stop with an error that the consumer will see at its next Pop().
   void Fail(std::exception_ptr error) { SetEnd(EState::kFailed, std::move(error)); }
   /// Consumer: stop the producer and drop whatever is queued.
   void Close()
   {
      std::lock_guard<std::mutex> lock(fMutex);
      fState = EState::kClosed;
      fBatches.clear();
      fNotFull.notify_all();
      fNotEmpty.notify_all();
   }

   bool IsClosed() const
   {
      std::lock_guard<std::mutex> lock(fMutex);
      return fState == EState::kClosed;
   }

   /// Consumer: waits at most `timeout` for Pop() to have something to return (a batch, the end, or an
   /// error), and tells whether it has; a consumer that must react to its own events (a language binding's
   /// signal handlers) waits in such slices.
   bool WaitForNext(std::chrono::milliseconds timeout) const
   {
      std::unique_lock<std::mutex> lock(fMutex);
      return fNotEmpty.wait_for(lock, timeout, [this] { return !fBatches.empty() || fState != EState::kRunning; });
   }

   /// Consumer: the next batch, or nullptr at the end of the epoch. A producer failure is rethrown
   /// at the first Pop() after it happened: an epoch that failed never looks complete.
   std::shared_ptr<RBatch> Pop()
   {
      std::unique_lock<std::mutex> lock(fMutex);
      fNotEmpty.wait(lock, [this] { return !fBatches.empty() || fState != EState::kRunning; });
      if (fState == EState::kFailed)
         std::rethrow_exception(fError);
      if (!fBatches.empty()) {
         auto batch = std::move(fBatches.front());
         fBatches.pop_front();
         fNotFull.notify_one();
         return batch;
      }
      return nullptr;
   }

private:
   void SetEnd(EState state, std::exception_ptr error)
   {
      std::lock_guard<std::mutex> lock(fMutex);
      if (fState != EState::kRunning)
         return;
      fState = state;
      fError = std::move(error);
      fNotEmpty.notify_all();
   }
};

} // namespace ML
} // namespace ROOT

#endif
