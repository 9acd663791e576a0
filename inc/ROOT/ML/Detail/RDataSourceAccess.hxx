/// \file ROOT/ML/Detail/RDataSourceAccess.hxx
/// \brief A dataframe's data source, which RDataFrame keeps protected.

#ifndef ROOT_ML_Detail_RDataSourceAccess
#define ROOT_ML_Detail_RDataSourceAccess

#include <ROOT/RDataFrame.hxx>

namespace ROOT {
namespace ML {
namespace Detail {

/// The data source of a dataframe: what the loader's sources read, and what tells it about entry lists.
struct RDataSourceAccess : ROOT::RDF::RInterfaceBase {
   static ROOT::RDF::RDataSource *Get(const ROOT::RDF::RInterfaceBase &node)
   {
      return (node.*&RDataSourceAccess::GetDataSource)();
   }
};

} // namespace Detail
} // namespace ML
} // namespace ROOT

#endif
