// `aether viz ...`: reads trace files, renders with viz/, writes files. See viz_command.h.

#include "app/viz_command.h"

#include <spawn.h>
#include <sys/wait.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>

#include <fmt/format.h>

#include "app/trace_command.h"
#include "viz/render.h"

extern char** environ;

namespace aether::app {

Status run_dot(const std::string& dot_path, const std::string& svg_path) {
  std::vector<std::string> words = {"dot", "-Tsvg", dot_path, "-o", svg_path};
  std::vector<char*> argv;
  for (std::string& w : words) argv.push_back(w.data());
  argv.push_back(nullptr);
  pid_t pid = 0;
  const int rc = posix_spawnp(&pid, "dot", nullptr, nullptr, argv.data(), environ);
  if (rc == ENOENT) {
    return make_error(Error::Code::kUnavailable,
                      fmt::format("Graphviz's dot is not installed (apt-get install graphviz); the graph is in {}: "
                                  "render it with dot -Tsvg {} -o {}",
                                  dot_path, dot_path, svg_path));
  }
  if (rc != 0) return make_error(Error::Code::kIo, fmt::format("cannot run dot: {}", std::strerror(rc)));
  int status = 0;
  while (waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) return make_error(Error::Code::kIo, fmt::format("waiting for dot: {}", std::strerror(errno)));
  }
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    return make_error(Error::Code::kIo, fmt::format("dot failed on {} (status {}); the DOT file is kept", dot_path, status));
  }
  return ok_status();
}

namespace {

Status write_file(const std::string& path, const std::string& text) {
  std::ofstream f(path, std::ios::binary | std::ios::trunc);
  if (!f) return make_error(Error::Code::kIo, fmt::format("cannot write {}: {}", path, std::strerror(errno)));
  f.write(text.data(), static_cast<std::streamsize>(text.size()));
  f.close();
  if (!f) return make_error(Error::Code::kIo, fmt::format("error writing {}", path));
  return ok_status();
}

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

std::string title_of(const std::vector<std::string>& files) {
  std::string t;
  for (const std::string& f : files) t += (t.empty() ? "" : ", ") + f.substr(f.find_last_of('/') + 1);
  return t;
}

int fail(const std::string& what) {
  std::fprintf(stderr, "aether viz: %s\n", what.c_str());
  return 2;
}

int graph(const VizArgs& args, const viz::Run& run) {
  viz::GraphOptions opt;
  opt.title = title_of(args.files);
  opt.detail_entities_max = args.detail_max;
  if (args.at_tick >= 0) {
    opt.at_ns = viz::time_of_tick(run, static_cast<Tick>(args.at_tick));
  } else if (args.at_s >= 0) {
    opt.at_ns = run.begin_ns + static_cast<TimeNs>(args.at_s * kNsPerSec);
  } else {
    opt.at_ns = run.end_ns;
  }
  const std::string dot = viz::ownership_dot(run, opt);
  const bool svg = !ends_with(args.out, ".dot");
  const std::string dot_path = svg ? (ends_with(args.out, ".svg") ? args.out.substr(0, args.out.size() - 4) : args.out) + ".dot" : args.out;
  if (Status s = write_file(dot_path, dot); !s) return fail(s.error().message);
  if (!svg) {
    std::printf("wrote %s (ownership at %s)\n", dot_path.c_str(), viz::seconds_since(run, opt.at_ns).c_str());
    return 0;
  }
  if (Status s = run_dot(dot_path, args.out); !s) return fail(s.error().message);
  std::printf("wrote %s and %s (ownership at %s)\n", dot_path.c_str(), args.out.c_str(), viz::seconds_since(run, opt.at_ns).c_str());
  return 0;
}

}  // namespace

VizArgs* add_viz_subcommands(CLI::App& cli) {
  static VizArgs args;
  auto* viz = cli.add_subcommand("viz", "pictures of a run from its trace files (merged by time): graph, timeline, entity, charts, chrome");
  viz->require_subcommand(1);
  struct Sub {
    const char* name;
    const char* help;
  };
  const Sub subs[] = {
      {"graph", "ownership graph at one instant (Graphviz DOT, rendered to SVG with dot): -o X.svg or X.dot"},
      {"timeline", "migration timeline of the run, a lane per compute node (self-contained HTML): -o X.html"},
      {"entity", "one entity's owners, ghosts, inputs, intents and state changes in order: text, or -o X.html"},
      {"charts", "tick duration, entities and queue depths per compute node (HTML with SVG charts): -o X.html"},
      {"chrome", "Chrome trace-event JSON (Perfetto, chrome://tracing), one track per node: -o X.json"},
  };
  for (const Sub& sub : subs) {
    auto* cmd = viz->add_subcommand(sub.name, sub.help);
    cmd->add_option("files", args.files, "trace files (one per process)")->required();
    const bool to_stdout_ok = std::strcmp(sub.name, "entity") == 0;
    auto* out = cmd->add_option("-o,--out", args.out, "output file");
    if (!to_stdout_ok) out->required();
    if (std::strcmp(sub.name, "graph") == 0) {
      auto* at_s = cmd->add_option("--at-s", args.at_s, "the instant, in seconds since the run's first record (default: the end)");
      cmd->add_option("--at-tick", args.at_tick, "the instant: when the first compute node ran this tick")->excludes(at_s);
      cmd->add_option("--detail-max", args.detail_max, "draw entities one by one up to this many; beyond, one box per node")
          ->capture_default_str()
          ->check(CLI::Range(0, 5000));
    }
    if (to_stdout_ok) cmd->add_option("--entity", args.entity, "the entity id")->required();
    cmd->callback([name = sub.name] { args.command = name; });
  }
  return &args;
}

int run_viz_if_parsed(const VizArgs& args) {
  if (args.command.empty()) return -1;
  std::vector<TraceEvent> records;
  std::string warnings;
  if (Status s = load_viz_records(args.files, &records, &warnings); !s) return fail(s.error().message);
  if (!warnings.empty()) std::fprintf(stderr, "%s", warnings.c_str());
  if (records.empty()) return fail("the trace files hold no records to draw");
  const viz::Run run = viz::build_run(records);
  if (run.dropped > 0) std::fprintf(stderr, "aether viz: %llu items over the limits were left out\n", static_cast<unsigned long long>(run.dropped));

  if (args.command == "graph") return graph(args, run);
  std::string text;
  if (args.command == "timeline") {
    viz::TimelineOptions opt;
    opt.title = title_of(args.files);
    text = viz::migration_timeline_html(run, opt);
  } else if (args.command == "entity") {
    viz::EntityOptions opt;
    opt.entity = EntityId(args.entity);
    if (args.out.empty()) {
      std::fputs(viz::entity_timeline_text(run, records, opt).c_str(), stdout);
      return 0;
    }
    text = ends_with(args.out, ".html") ? viz::entity_timeline_html(run, records, opt) : viz::entity_timeline_text(run, records, opt);
  } else if (args.command == "charts") {
    viz::ChartOptions opt;
    opt.title = title_of(args.files);
    text = viz::tick_charts_html(run, opt);
  } else if (args.command == "chrome") {
    text = viz::chrome_trace_json(run, viz::ChromeOptions());
  } else {
    return fail("unknown viz command " + args.command);
  }
  if (Status s = write_file(args.out, text); !s) return fail(s.error().message);
  std::printf("wrote %s\n", args.out.c_str());
  return 0;
}

}  // namespace aether::app
