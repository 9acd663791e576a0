/// \file ROOT/ML/Detail/RJsonColumns.hxx
/// \brief A JSON object of named arrays of numbers, strings and nulls: the files both language fronts
/// write for a fitted state (see RNormalization), read and written without a JSON library. Only C++
/// headers the engine's other headers include are used: ROOT's precompiled C++ modules may come from
/// another standard library than the system's, and a new one can break the precompiled engine header.

#ifndef ROOT_ML_Detail_RJsonColumns
#define ROOT_ML_Detail_RJsonColumns

#include <cmath>
#include <cstdint>
#include <map>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

namespace ROOT {
namespace ML {
namespace Detail {

/// One array element: a number, a string, or null (a string with fIsNull).
struct RJsonValue {
   double fNumber = 0.;
   std::string fString;
   bool fIsString = false;
   bool fIsNull = false;
};

using RJsonColumns = std::map<std::string, std::vector<RJsonValue>>;

/// Reads `{"name": [value, ...], ...}`. Numbers may be `Infinity`, `-Infinity` and `NaN`, as Python's
/// json module writes them for non-finite floats.
class RJsonColumnsReader {
   const std::string &fText;
   std::size_t fPos = 0;

   [[noreturn]] void Fail(const std::string &expected) const
   {
      throw std::invalid_argument("expected " + expected + " at character " + std::to_string(fPos));
   }
   void SkipSpace()
   {
      while (fPos < fText.size() && std::string(" \t\n\r").find(fText[fPos]) != std::string::npos)
         ++fPos;
   }
   bool Accept(char c)
   {
      SkipSpace();
      if (fPos < fText.size() && fText[fPos] == c) {
         ++fPos;
         return true;
      }
      return false;
   }
   void Expect(char c)
   {
      if (!Accept(c))
         Fail(std::string("'") + c + "'");
   }
   static void AppendUtf8(std::string &out, unsigned code)
   {
      if (code < 0x80) {
         out += static_cast<char>(code);
      } else if (code < 0x800) {
         out += static_cast<char>(0xC0 | (code >> 6));
         out += static_cast<char>(0x80 | (code & 0x3F));
      } else {
         out += static_cast<char>(0xE0 | (code >> 12));
         out += static_cast<char>(0x80 | ((code >> 6) & 0x3F));
         out += static_cast<char>(0x80 | (code & 0x3F));
      }
   }
   std::string ReadString()
   {
      Expect('"');
      std::string out;
      while (fPos < fText.size() && fText[fPos] != '"') {
         char c = fText[fPos++];
         if (c != '\\') {
            out += c;
            continue;
         }
         if (fPos >= fText.size())
            break;
         c = fText[fPos++];
         switch (c) {
         case 'n': out += '\n'; break;
         case 't': out += '\t'; break;
         case 'r': out += '\r'; break;
         case 'b': out += '\b'; break;
         case 'f': out += '\f'; break;
         case 'u':
            if (fPos + 4 > fText.size())
               Fail("four hexadecimal digits");
            AppendUtf8(out, static_cast<unsigned>(std::stoul(fText.substr(fPos, 4), nullptr, 16)));
            fPos += 4;
            break;
         default: out += c; // '"', '\\' and '/' stand for themselves
         }
      }
      Expect('"');
      return out;
   }
   RJsonValue ReadValue()
   {
      SkipSpace();
      RJsonValue value;
      if (fPos < fText.size() && fText[fPos] == '"') {
         value.fString = ReadString();
         value.fIsString = true;
      } else if (fText.compare(fPos, 4, "null") == 0) {
         value.fIsNull = true;
         fPos += 4;
      } else {
         // std::stod reads JSON numbers, and also Infinity, -Infinity and NaN.
         const auto token = fText.substr(fPos, fText.find_first_of(",]} \t\n\r", fPos) - fPos);
         std::size_t used = 0;
         try {
            value.fNumber = std::stod(token, &used);
         } catch (const std::logic_error &) {
            used = 0;
         }
         if (used == 0 || used != token.size())
            Fail("a number, a string or null");
         fPos += used;
      }
      return value;
   }

public:
   explicit RJsonColumnsReader(const std::string &text) : fText(text) {}

   /// \throws std::invalid_argument saying what was expected where
   RJsonColumns Read()
   {
      RJsonColumns columns;
      Expect('{');
      if (!Accept('}')) {
         do {
            SkipSpace();
            auto &values = columns[ReadString()];
            Expect(':');
            Expect('[');
            if (!Accept(']')) {
               do
                  values.push_back(ReadValue());
               while (Accept(','));
               Expect(']');
            }
         } while (Accept(','));
         Expect('}');
      }
      SkipSpace();
      if (fPos != fText.size())
         Fail("the end of the text");
      return columns;
   }
};

/// Writes the object RJsonColumnsReader reads, one array per line, numbers exact (17 significant digits).
class RJsonColumnsWriter {
   std::string fText = "{";

   void Quote(const std::string &s)
   {
      fText += '"';
      for (const char c : s) {
         if (c == '"' || c == '\\') {
            fText += '\\';
            fText += c;
         } else if (static_cast<unsigned char>(c) < 0x20) {
            fText += "\\u00";
            fText += "0123456789abcdef"[c >> 4];
            fText += "0123456789abcdef"[c & 0xF];
         } else {
            fText += c;
         }
      }
      fText += '"';
   }
   template <typename T, typename Write>
   void Add(const std::string &name, const std::vector<T> &values, Write write)
   {
      fText += fText.size() > 1 ? ",\n " : "\n ";
      Quote(name);
      fText += ": [";
      for (std::size_t i = 0; i < values.size(); ++i) {
         if (i > 0)
            fText += ", ";
         write(values[i]);
      }
      fText += ']';
   }

public:
   void Add(const std::string &name, const std::vector<std::string> &values, const std::vector<bool> &isNull)
   {
      std::size_t i = 0;
      Add(name, values, [&](const std::string &s) {
         if (isNull[i++])
            fText += "null";
         else
            Quote(s);
      });
   }
   void Add(const std::string &name, const std::vector<double> &values)
   {
      Add(name, values, [&](double x) {
         if (std::isnan(x)) {
            fText += "NaN";
         } else if (std::isinf(x)) {
            fText += x > 0 ? "Infinity" : "-Infinity";
         } else {
            std::ostringstream number;
            number.precision(17); // enough to read back the same double
            number << x;
            fText += number.str();
         }
      });
   }
   void Add(const std::string &name, const std::vector<std::uint64_t> &values)
   {
      Add(name, values, [&](std::uint64_t n) { fText += std::to_string(n); });
   }
   std::string Finish() { return fText + "\n}\n"; }
};

} // namespace Detail
} // namespace ML
} // namespace ROOT

#endif
