/// \file ROOT/ML/Detail/RDataSourceAccess.hxx
/// \brief What RDataFrame keeps protected: a dataframe's data source and its loop, and the process-wide lock of
/// that loop.

#ifndef ROOT_ML_Detail_RDataSourceAccess
#define ROOT_ML_Detail_RDataSourceAccess

#include <ROOT/RDataFrame.hxx>
#include <TNamed.h>
#include <TROOT.h>
#include <TSeqCollection.h>
#include <TVirtualMutex.h>

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <utility>

namespace ROOT {
namespace ML {
namespace Detail {

/// The data source of a dataframe: what the loader's sources read, and what tells it about entry lists.
struct RDataSourceAccess : ROOT::RDF::RInterfaceBase {
   static ROOT::RDF::RDataSource *Get(const ROOT::RDF::RInterfaceBase &node)
   {
      return (node.*&RDataSourceAccess::GetDataSource)();
   }
   /// The loop manager of a dataframe's computation graph, which all nodes made from one RDataFrame share.
   static const void *GetLoop(const ROOT::RDF::RInterfaceBase &node)
   {
      return (node.*&RDataSourceAccess::GetLoopManager)();
   }
};

/// \brief The lock of a computation graph's event loop, one per graph in the process: loaders over nodes of one
/// RDataFrame (training and validation filters of the same dataframe) share its loop, which runs one event loop
/// at a time, and every loader runs its loops under this lock.
///
/// The locks are found through ROOT's list of specials rather than a function's static variable, of which a
/// compiled engine library and cling's own code would each have a copy.
inline std::mutex &GetEventLoopLock(const ROOT::RDF::RInterfaceBase &node)
{
   using RLocks = std::pair<std::mutex, std::map<const void *, std::unique_ptr<std::mutex>>>;
   static const char *const kName = "ROOT::ML::Detail::GetEventLoopLock";
   RLocks *locks = nullptr;
   {
      R__LOCKGUARD(gROOTMutex);
      auto *specials = gROOT->GetListOfSpecials();
      if (auto *found = specials->FindObject(kName)) {
         locks = reinterpret_cast<RLocks *>(std::stoull(found->GetTitle()));
      } else {
         locks = new RLocks(); // for the life of the process, as the graphs it locks may be
         specials->Add(new TNamed(kName, std::to_string(reinterpret_cast<std::uintptr_t>(locks)).c_str()));
      }
   }
   std::lock_guard<std::mutex> guard(locks->first);
   auto &lock = locks->second[RDataSourceAccess::GetLoop(node)];
   if (!lock)
      lock = std::make_unique<std::mutex>();
   return *lock;
}

} // namespace Detail
} // namespace ML
} // namespace ROOT

#endif
