// A small XML reader for the picture tests: checks that a document is
// well-formed (one root, tags nested and closed, attributes quoted and not
// repeated, entities known) and gives back its element tree. Enough for
// the SVG and the polyglot HTML the tools write; not a general parser (no
// DTDs, no CDATA, no namespaces resolved).
#pragma once

#include <map>
#include <string>
#include <vector>

namespace vtd::testing {

struct XmlNode {
  std::string name;
  std::map<std::string, std::string> attrs;
  std::vector<XmlNode> children;
  std::string text;  // the character data directly inside, entities decoded

  std::string attr(const std::string& k) const {
    auto it = attrs.find(k);
    return it == attrs.end() ? "" : it->second;
  }
  // Every element below this one (depth first) for which `pred` holds.
  template <typename Pred>
  void find_all(Pred pred, std::vector<const XmlNode*>* out) const {
    for (const XmlNode& c : children) {
      if (pred(c)) out->push_back(&c);
      c.find_all(pred, out);
    }
  }
  // All the text inside, descendants' too.
  std::string all_text() const {
    std::string s = text;
    for (const XmlNode& c : children) s += c.all_text();
    return s;
  }
};

class XmlReader {
 public:
  // True when `doc` is well-formed; *root is its root element.
  bool parse(const std::string& doc, XmlNode* root) {
    s_ = &doc;
    i_ = 0;
    error_.clear();
    prolog();
    if (!error_.empty()) return false;
    if (!element(root)) return false;
    misc();
    if (error_.empty() && i_ != doc.size()) fail("content after the root element");
    return error_.empty();
  }
  const std::string& error() const { return error_; }

 private:
  bool fail(const std::string& what) {
    if (error_.empty()) error_ = what + " at offset " + std::to_string(i_);
    return false;
  }
  bool at(const char* p) const {
    return s_->compare(i_, std::char_traits<char>::length(p), p) == 0;
  }
  void space() {
    while (i_ < s_->size() && std::string(" \t\r\n").find((*s_)[i_]) != std::string::npos) ++i_;
  }
  bool skip_to(const char* end) {
    size_t e = s_->find(end, i_);
    if (e == std::string::npos) return fail(std::string("no closing ") + end);
    i_ = e + std::char_traits<char>::length(end);
    return true;
  }
  // Comments, processing instructions and white space between markup.
  void misc() {
    for (;;) {
      space();
      if (at("<!--")) {
        if (!skip_to("-->")) return;
      } else if (at("<?")) {
        if (!skip_to("?>")) return;
      } else {
        return;
      }
    }
  }
  void prolog() {
    misc();
    if (at("<!DOCTYPE") || at("<!doctype")) skip_to(">");
    misc();
  }
  std::string name() {
    size_t b = i_;
    while (i_ < s_->size() && (isalnum(static_cast<unsigned char>((*s_)[i_])) ||
                               std::string(":_-.").find((*s_)[i_]) != std::string::npos))
      ++i_;
    return s_->substr(b, i_ - b);
  }
  bool decode(const std::string& raw, std::string* out) {
    for (size_t k = 0; k < raw.size(); ++k) {
      if (raw[k] == '<') return fail("'<' in text or attribute");
      if (raw[k] != '&') {
        *out += raw[k];
        continue;
      }
      size_t e = raw.find(';', k);
      if (e == std::string::npos) return fail("'&' without ';'");
      const std::string ent = raw.substr(k + 1, e - k - 1);
      static const std::map<std::string, std::string> kNamed = {
          {"amp", "&"}, {"lt", "<"}, {"gt", ">"}, {"quot", "\""}, {"apos", "'"}};
      if (kNamed.count(ent)) {
        *out += kNamed.at(ent);
      } else if (ent.size() > 1 && ent[0] == '#') {
        const bool hex = ent[1] == 'x';
        const std::string digits = ent.substr(hex ? 2 : 1);
        if (digits.empty() || digits.find_first_not_of(hex ? "0123456789abcdefABCDEF"
                                                           : "0123456789") != std::string::npos)
          return fail("bad character reference &" + ent + ";");
        *out += '?';  // the code point itself does not matter here
      } else {
        return fail("unknown entity &" + ent + ";");
      }
      k = e;
    }
    return true;
  }
  bool element(XmlNode* n) {
    misc();
    if (i_ >= s_->size() || (*s_)[i_] != '<') return fail("expected an element");
    ++i_;
    n->name = name();
    if (n->name.empty()) return fail("element without a name");
    for (;;) {
      space();
      if (at("/>")) {
        i_ += 2;
        return true;
      }
      if (at(">")) {
        ++i_;
        break;
      }
      const std::string k = name();
      if (k.empty()) return fail("bad attribute in <" + n->name + ">");
      space();
      if (!at("=")) return fail("attribute " + k + " without a value");
      ++i_;
      space();
      const char q = i_ < s_->size() ? (*s_)[i_] : 0;
      if (q != '"' && q != '\'') return fail("attribute " + k + " not quoted");
      const size_t e = s_->find(q, i_ + 1);
      if (e == std::string::npos) return fail("attribute " + k + " not closed");
      std::string v;
      if (!decode(s_->substr(i_ + 1, e - i_ - 1), &v)) return false;
      if (!n->attrs.emplace(k, v).second) return fail("attribute " + k + " repeated");
      i_ = e + 1;
    }
    for (;;) {
      const size_t lt = s_->find('<', i_);
      if (lt == std::string::npos) return fail("<" + n->name + "> not closed");
      if (!decode(s_->substr(i_, lt - i_), &n->text)) return false;
      i_ = lt;
      if (at("<!--")) {
        if (!skip_to("-->")) return false;
        continue;
      }
      if (at("</")) {
        i_ += 2;
        const std::string close = name();
        space();
        if (close != n->name || !at(">")) return fail("</" + close + "> closes <" + n->name + ">");
        ++i_;
        return true;
      }
      n->children.emplace_back();
      if (!element(&n->children.back())) return false;
    }
  }

  const std::string* s_ = nullptr;
  size_t i_ = 0;
  std::string error_;
};

}  // namespace vtd::testing
