/// \file ROOT/ML/RNormalization.hxx
/// \brief Feature normalisation: the rule that fits it on the training split, and its JSON file.

#ifndef ROOT_ML_RNormalization
#define ROOT_ML_RNormalization

#include "ROOT/ML/Detail/RJsonColumns.hxx"
#include "ROOT/ML/RRunningStatistics.hxx"

#include <cmath>
#include <cstdint>
#include <fstream>
#include <iterator>
#include <stdexcept>
#include <string>
#include <vector>

namespace ROOT {
namespace ML {

/// How a feature is normalised (RDataLoaderOptions::fNormalize).
enum class ENormalization : int {
   kNone,     ///< Left as it is.
   kStandard, ///< (x - mean) / standard deviation (the population's, as NumPy's default) of the training split.
   kMinMax    ///< (x - minimum) / (maximum - minimum) of the training split: its range onto [0, 1].
};

/// \brief The fitted normalisation of each feature element: x -> (x - fShift[i]) * fScale[i].
///
/// An element whose training values do not vary is only shifted; one without finite training values, or
/// without a method, is left as it is. Padding of vector columns is neither counted nor transformed. The
/// JSON file of Save() is the one Python's `Normalization.save` writes, so that a normalisation fitted
/// in one language applies in the other:
/// ~~~{.cpp}
/// loader.GetNormalization().Save("scaler.json");
/// inference.SetNormalization(ROOT::ML::RNormalization::Load("scaler.json"));
/// ~~~
struct RNormalization {
   std::vector<std::string> fColumns; ///< Feature elements: a column, or `name_i` for element i of a vector.
   std::vector<ENormalization> fMethods;
   std::vector<double> fShift;
   std::vector<double> fScale;
   std::vector<std::uint64_t> fCount;   ///< Finite training values the fit saw.
   std::vector<double> fMean;
   std::vector<double> fStdDev;
   std::vector<double> fMinimum;
   std::vector<double> fMaximum;
   std::vector<std::uint64_t> fSkipped; ///< NaN and infinite training values, left out of the fit.

   /// The normalisation of each element by `methods[i]`, from `statistics[i]` of the training split.
   static RNormalization Fit(const std::vector<std::string> &columns, const std::vector<ENormalization> &methods,
                             const std::vector<RRunningStatistics> &statistics)
   {
      if (methods.size() != columns.size() || statistics.size() != columns.size())
         throw std::invalid_argument("ROOT::ML::RNormalization: " + std::to_string(columns.size()) +
                                     " feature elements need as many methods and statistics");
      RNormalization fitted;
      fitted.fColumns = columns;
      fitted.fMethods = methods;
      for (std::size_t i = 0; i < columns.size(); ++i) {
         const auto &s = statistics[i];
         const bool applies = methods[i] != ENormalization::kNone && s.fCount > 0;
         fitted.fShift.push_back(!applies ? 0. : methods[i] == ENormalization::kStandard ? s.fMean : s.fMin);
         fitted.fCount.push_back(s.fCount);
         fitted.fMean.push_back(s.fMean);
         fitted.fStdDev.push_back(s.GetStdDev());
         fitted.fMinimum.push_back(s.fMin);
         fitted.fMaximum.push_back(s.fMax);
         fitted.fSkipped.push_back(s.fNonFinite);
         fitted.fScale.push_back(applies && fitted.Varies(i) ? 1. / fitted.Spread(i) : 1.);
      }
      return fitted;
   }

   /// The elements normalised by a method whose training values do not vary: shifted, not scaled.
   std::vector<std::string> GetConstantColumns() const
   {
      std::vector<std::string> constant;
      for (std::size_t i = 0; i < fColumns.size(); ++i)
         if (fMethods[i] != ENormalization::kNone && fCount[i] > 0 && !Varies(i))
            constant.push_back(fColumns[i]);
      return constant;
   }

   void Save(const std::string &path) const
   {
      std::vector<std::string> methods;
      std::vector<bool> none;
      for (const auto method : fMethods) {
         methods.push_back(method == ENormalization::kStandard ? "standard" : "minmax");
         none.push_back(method == ENormalization::kNone);
      }
      Detail::RJsonColumnsWriter json;
      json.Add("columns", fColumns, std::vector<bool>(fColumns.size(), false));
      json.Add("methods", methods, none);
      json.Add("shift", fShift);
      json.Add("scale", fScale);
      json.Add("count", fCount);
      json.Add("mean", fMean);
      json.Add("std", fStdDev);
      json.Add("minimum", fMinimum);
      json.Add("maximum", fMaximum);
      json.Add("skipped", fSkipped);
      std::ofstream out(path);
      out << json.Finish();
      if (!out)
         throw std::runtime_error("ROOT::ML::RNormalization: cannot write " + path);
   }

   /// \throws std::runtime_error naming the file when it cannot be read or is not a normalisation
   static RNormalization Load(const std::string &path)
   {
      std::ifstream in(path);
      if (!in)
         throw std::runtime_error("ROOT::ML::RNormalization: cannot read " + path);
      const std::string text{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
      try {
         return FromJson(Detail::RJsonColumnsReader(text).Read());
      } catch (const std::invalid_argument &error) {
         throw std::runtime_error("ROOT::ML::RNormalization: " + path + " is not a saved normalisation: " +
                                  error.what());
      }
   }

private:
   double Spread(std::size_t i) const
   {
      return fMethods[i] == ENormalization::kStandard ? fStdDev[i] : fMaximum[i] - fMinimum[i];
   }
   bool Varies(std::size_t i) const { return Spread(i) > 0. && std::isfinite(Spread(i)); }

   static RNormalization FromJson(const Detail::RJsonColumns &json)
   {
      const auto n = Field(json, "columns").size();
      auto values = [&](const char *name, bool optional = false) {
         std::vector<Detail::RJsonValue> column;
         if (optional && json.count(name) == 0)
            column.resize(n); // files written before the field existed: zeros
         else
            column = Field(json, name);
         if (column.size() != n)
            throw std::invalid_argument(std::string("\"") + name + "\" has " + std::to_string(column.size()) +
                                        " values for " + std::to_string(n) + " columns");
         return column;
      };
      auto numbers = [&](const char *name, auto &out, bool optional = false) {
         for (const auto &v : values(name, optional))
            out.push_back(static_cast<typename std::decay_t<decltype(out)>::value_type>(v.fNumber));
      };
      RNormalization loaded;
      for (const auto &v : values("columns"))
         loaded.fColumns.push_back(v.fString);
      for (const auto &v : values("methods"))
         loaded.fMethods.push_back(v.fIsNull ? ENormalization::kNone : MethodOf(v.fString));
      numbers("shift", loaded.fShift);
      numbers("scale", loaded.fScale);
      numbers("count", loaded.fCount);
      numbers("mean", loaded.fMean);
      numbers("std", loaded.fStdDev);
      numbers("minimum", loaded.fMinimum);
      numbers("maximum", loaded.fMaximum);
      numbers("skipped", loaded.fSkipped, true);
      return loaded;
   }
   static const std::vector<Detail::RJsonValue> &Field(const Detail::RJsonColumns &json, const char *name)
   {
      const auto found = json.find(name);
      if (found == json.end())
         throw std::invalid_argument(std::string("no \"") + name + "\" array");
      return found->second;
   }
   static ENormalization MethodOf(const std::string &name)
   {
      if (name == "standard")
         return ENormalization::kStandard;
      if (name == "minmax")
         return ENormalization::kMinMax;
      throw std::invalid_argument("unknown method \"" + name + "\"");
   }
};

} // namespace ML
} // namespace ROOT

#endif
