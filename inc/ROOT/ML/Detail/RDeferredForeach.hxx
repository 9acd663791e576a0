/// \file ROOT/ML/Detail/RDeferredForeach.hxx
/// \brief RDataFrame's typed Foreach over the loader's columns, compiled by cling only when first needed.

#ifndef ROOT_ML_Detail_RDeferredForeach
#define ROOT_ML_Detail_RDeferredForeach

#include <ROOT/RDataFrame.hxx>
#include <TClassEdit.h>
#include <TInterpreter.h>

#include <stdexcept>
#include <string>
#include <typeinfo>
#include <vector>

namespace ROOT {
namespace ML {
namespace Detail {

/// A Foreach callable whose type names only the column types: the caller's action behind a pointer, so
/// that the instantiation of Foreach for a set of column types serves every action.
template <typename... Columns>
class RErasedAction {
   void *fAction;
   void (*fCall)(void *, const Columns &...);

public:
   /// \param action called for every entry; must outlive the event loop
   template <typename Action>
   explicit RErasedAction(Action &action)
      : fAction(&action), fCall([](void *a, const Columns &...values) { (*static_cast<Action *>(a))(values...); })
   {
   }

   void operator()(const Columns &...values) const { fCall(fAction, values...); }
};

/// One event loop of `node` over `columns`.
template <typename... Columns>
void ForeachEntry(ROOT::RDF::RNode &node, const std::vector<std::string> &columns, RErasedAction<Columns...> action)
{
   node.Foreach(action, columns);
}

/// \brief Runs ForeachEntry<Columns...>. Under cling, ForeachEntry is instantiated through the interpreter
/// at the first call rather than with the code that calls it.
///
/// Instantiating RDataFrame's Foreach for a few dozen columns costs cling most of a second, and a loader
/// that reads every unit from baskets never runs an event loop: it should not pay for one at start-up.
/// Compiled code (a C++ program built with a compiler) instantiates it as usual.
template <typename... Columns>
class RDeferredForeach {
   using Function = void (*)(ROOT::RDF::RNode &, const std::vector<std::string> &, RErasedAction<Columns...>);
   Function fFunction = nullptr;

   static Function CompileFunction()
   {
#ifdef __CLING__
      std::string name = "ROOT::ML::Detail::ForeachEntry<";
      int demangling = 0;
      std::string separator;
      for (const auto *type : {&typeid(Columns)...}) {
         name += separator + TClassEdit::DemangleTypeIdName(*type, demangling);
         separator = ", ";
      }
      name += ">";
      TInterpreter::EErrorCode error = TInterpreter::kNoError;
      const auto address = gInterpreter->Calc(("(long)&" + name).c_str(), &error);
      if (demangling != 0 || error != TInterpreter::kNoError || address == 0)
         throw std::runtime_error("ROOT::ML::RDataLoader: the interpreter could not compile the event loop " + name);
      return reinterpret_cast<Function>(address);
#else
      return &ForeachEntry<Columns...>;
#endif
   }

public:
   /// Compiles the event loop if it is not yet; not thread-safe, and needed before the first call.
   void Compile()
   {
      if (!fFunction)
         fFunction = CompileFunction();
   }
   void operator()(ROOT::RDF::RNode &node, const std::vector<std::string> &columns, RErasedAction<Columns...> action)
   {
      fFunction(node, columns, action);
   }
};

} // namespace Detail
} // namespace ML
} // namespace ROOT

#endif
