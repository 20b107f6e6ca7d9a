// Writing and reading measurement CSV files (see measurements_csv.h for the format).
#include "jobs/measurements_csv.h"


#include <cerrno>
#include <charconv>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <optional>
#include <sstream>
#include <string>

#include "core/error.h"
#include "core/text_file.h"

namespace qs {
namespace {

constexpr const char *kFixedColumns[] = {"tensor", "type", "bits", "params"};
constexpr size_t kFixedColumnCount = 4;

std::string quote_if_needed(const std::string &field) {
  const bool needs_quotes = field.find_first_of(",\"\r\n") != std::string::npos ||
                            (!field.empty() && (field.front() == ' ' || field.back() == ' '));
  if (!needs_quotes) return field;
  std::string quoted = "\"";
  for (char c : field) {
    if (c == '"') quoted += '"';  // RFC 4180: a quote inside a quoted field is doubled
    quoted += c;
  }
  return quoted + "\"";
}

// One CSV record and the line it starts on.
struct Record {
  std::vector<std::string> fields;
  int64_t line = 0;
};

// Splits RFC 4180 CSV into records; a quoted field may hold commas, doubled quotes and newlines.
// Blank lines are skipped; CRLF line ends are accepted.
std::vector<Record> split_records(const std::string &text, const std::filesystem::path &path) {
  std::vector<Record> records;
  size_t i = 0;
  int64_t line = 1;
  if (text.compare(0, 3, "\xEF\xBB\xBF") == 0) i = 3;  // a UTF-8 byte order mark (spreadsheets write one)
  while (i < text.size()) {
    if (text[i] == '\n' || (text[i] == '\r' && i + 1 < text.size() && text[i + 1] == '\n')) {
      i += text[i] == '\r' ? 2 : 1;
      ++line;
      continue;
    }
    Record record;
    record.line = line;
    for (;;) {
      std::string field;
      if (i < text.size() && text[i] == '"') {
        const int64_t opened_on = line;
        ++i;
        for (;;) {
          if (i >= text.size()) fail(path.string(), ": line ", opened_on, ": a quoted field is never closed");
          if (text[i] == '"') {
            if (i + 1 < text.size() && text[i + 1] == '"') {
              field += '"';
              i += 2;
              continue;
            }
            ++i;
            break;
          }
          if (text[i] == '\n') ++line;
          field += text[i++];
        }
        if (i < text.size() && text[i] != ',' && text[i] != '\n' && text[i] != '\r')
          fail(path.string(), ": line ", line, ": unexpected text after a closing quote");
      } else {
        while (i < text.size() && text[i] != ',' && text[i] != '\n' && text[i] != '\r') field += text[i++];
        if (i < text.size() && text[i] == '\r' && !(i + 1 < text.size() && text[i + 1] == '\n'))
          fail(path.string(), ": line ", line, ": a carriage return inside an unquoted field");
      }
      record.fields.push_back(std::move(field));
      if (i < text.size() && text[i] == ',') {
        ++i;
        continue;
      }
      break;  // end of line or of file
    }
    records.push_back(std::move(record));
  }
  return records;
}

std::string_view trim_spaces(std::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t')) text.remove_suffix(1);
  return text;
}

double parse_real(std::string_view field, const std::filesystem::path &path, int64_t line, const char *column) {
  const auto text = trim_spaces(field);
  double value = 0;
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || error != std::errc() || end != text.data() + text.size())
    fail(path.string(), ": line ", line, ": column ", column, ": '", field, "' is not a number");
  return value;
}

int64_t parse_integer(std::string_view field, const std::filesystem::path &path, int64_t line, const char *column) {
  const auto text = trim_spaces(field);
  int64_t value = 0;
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || error != std::errc() || end != text.data() + text.size())
    fail(path.string(), ": line ", line, ": column ", column, ": '", field, "' is not a whole number");
  return value;
}

}  // namespace

void write_measurements_csv(const std::filesystem::path &path, const std::vector<MeasurementRow> &rows) {
  std::vector<const MetricInfo *> columns;
  for (const auto &metric : all_metrics())
    for (const auto &row : rows)
      if (row.get(metric.metric)) {
        columns.push_back(&metric);
        break;
      }

  std::ostringstream text;
  text << "tensor,type,bits,params";
  for (const auto *metric : columns) text << ',' << metric->column;
  text << '\n';
  for (const auto &row : rows) {
    text << quote_if_needed(row.tensor) << ',' << quote_if_needed(row.type) << ',' << format_metric_value(row.bits)
         << ',' << row.params;
    for (const auto *metric : columns) {
      text << ',';
      if (const auto value = row.get(metric->metric)) text << format_metric_value(*value);
    }
    text << '\n';
  }

  const std::string body = text.str();
  try {
    write_file_atomically(path, body);
  } catch (const Error &e) {
    fail("cannot write ", path.string(), ": ", e.what());
  }
}

std::vector<SourcedRow> read_measurements_csv(const std::filesystem::path &path) {
  std::ifstream file(path, std::ios::binary);
  if (!file) fail("cannot read measurements file ", path.string(), ": ", std::strerror(errno));
  std::ostringstream content;
  content << file.rdbuf();
  if (file.bad()) fail("cannot read measurements file ", path.string(), ": read error");
  const auto records = split_records(content.str(), path);
  if (records.empty()) fail(path.string(), ": line 1: empty file; expected the header tensor,type,bits,params,...");

  // The header: the four fixed columns, then metric names from the metric table, each once.
  const Record &header = records.front();
  bool fixed_ok = header.fields.size() >= kFixedColumnCount;
  for (size_t i = 0; fixed_ok && i < kFixedColumnCount; ++i) fixed_ok = header.fields[i] == kFixedColumns[i];
  if (!fixed_ok) {
    std::string found;
    for (size_t i = 0; i < header.fields.size(); ++i) found += cat(i ? "," : "", header.fields[i]);
    fail(path.string(), ": line ", header.line, ": the header must start with tensor,type,bits,params (found '", found,
         "')");
  }
  std::vector<const MetricInfo *> metric_columns;
  for (size_t i = kFixedColumnCount; i < header.fields.size(); ++i) {
    const MetricInfo *metric = find_metric(header.fields[i]);
    if (!metric) {
      std::string known;
      for (const auto &m : all_metrics()) known += cat(known.empty() ? "" : ", ", m.column);
      fail(path.string(), ": line ", header.line, ": unknown column '", header.fields[i], "' (metrics: ", known, ")");
    }
    for (const auto *earlier : metric_columns)
      if (earlier == metric) fail(path.string(), ": line ", header.line, ": column '", metric->column, "' appears twice");
    metric_columns.push_back(metric);
  }

  std::vector<SourcedRow> rows;
  rows.reserve(records.size() - 1);
  for (size_t r = 1; r < records.size(); ++r) {
    const Record &record = records[r];
    if (record.fields.size() != header.fields.size())
      fail(path.string(), ": line ", record.line, ": ", record.fields.size(), " fields, but the header has ",
           header.fields.size());
    SourcedRow sourced;
    sourced.line = record.line;
    MeasurementRow &row = sourced.row;
    row.tensor = record.fields[0];
    row.type = record.fields[1];
    if (row.tensor.empty()) fail(path.string(), ": line ", record.line, ": column tensor is empty");
    if (row.type.empty()) fail(path.string(), ": line ", record.line, ": column type is empty");
    row.bits = parse_real(record.fields[2], path, record.line, "bits");
    row.params = parse_integer(record.fields[3], path, record.line, "params");
    for (size_t m = 0; m < metric_columns.size(); ++m) {
      const std::string &field = record.fields[kFixedColumnCount + m];
      if (trim_spaces(field).empty()) continue;  // not measured
      row.set(metric_columns[m]->metric, parse_real(field, path, record.line, metric_columns[m]->column));
    }
    validate_measurement_row(row, cat(path.string(), ": line ", record.line));
    rows.push_back(std::move(sourced));
  }
  return rows;
}

}  // namespace qs
