/// \file ROOT/ML/Detail/RThreadTeam.hxx
/// \brief The reading threads of one epoch: the loading thread and its helpers, doing a task together.

#ifndef ROOT_ML_Detail_RThreadTeam
#define ROOT_ML_Detail_RThreadTeam

#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace ROOT {
namespace ML {
namespace Detail {

/// \brief Runs a task on the calling thread and `size - 1` helper threads, which wait between tasks instead
/// of being created for each one. The helpers are joined by the destructor.
class RThreadTeam {
   std::vector<std::thread> fHelpers;
   std::mutex fMutex;
   std::condition_variable fStart;
   std::condition_variable fDone;
   std::function<void(std::size_t)> fTask;
   std::uint64_t fGeneration = 0; ///< Tasks started so far.
   std::size_t fRunning = 0;      ///< Helpers still on the current task.
   bool fStop = false;
   std::vector<std::exception_ptr> fErrors; ///< Per thread, of the current task.

   void Help(std::size_t thread)
   {
      std::uint64_t seen = 0;
      while (true) {
         std::unique_lock<std::mutex> lock(fMutex);
         fStart.wait(lock, [&] { return fStop || fGeneration != seen; });
         if (fStop)
            return;
         seen = fGeneration;
         lock.unlock();
         Attempt(thread);
         lock.lock();
         if (--fRunning == 0)
            fDone.notify_one();
      }
   }

   void Attempt(std::size_t thread)
   {
      try {
         fTask(thread);
      } catch (...) {
         fErrors[thread] = std::current_exception();
      }
   }

public:
   explicit RThreadTeam(std::size_t size) : fErrors(size > 0 ? size : 1)
   {
      for (std::size_t t = 1; t < fErrors.size(); ++t)
         fHelpers.emplace_back([this, t] { Help(t); });
   }
   ~RThreadTeam()
   {
      {
         std::lock_guard<std::mutex> lock(fMutex);
         fStop = true;
      }
      fStart.notify_all();
      for (auto &helper : fHelpers)
         helper.join();
   }
   RThreadTeam(const RThreadTeam &) = delete;
   RThreadTeam &operator=(const RThreadTeam &) = delete;

   std::size_t GetSize() const { return fErrors.size(); }

   /// Runs task(t) for every thread t of the team (0 on the calling thread) and waits for all; rethrows
   /// the first error of any of them.
   void Run(std::function<void(std::size_t)> task)
   {
      {
         std::lock_guard<std::mutex> lock(fMutex);
         fTask = std::move(task);
         fRunning = fHelpers.size();
         ++fGeneration;
      }
      fStart.notify_all();
      Attempt(0);
      {
         std::unique_lock<std::mutex> lock(fMutex);
         fDone.wait(lock, [&] { return fRunning == 0; });
      }
      for (auto &error : fErrors)
         if (error) {
            auto first = error;
            for (auto &e : fErrors)
               e = nullptr;
            std::rethrow_exception(first);
         }
   }
};

} // namespace Detail
} // namespace ML
} // namespace ROOT

#endif
