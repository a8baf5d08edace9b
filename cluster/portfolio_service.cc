#include "cluster/portfolio_service.h"

#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <memory>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "policy/phone_number.h"
#include "storage/portfolio_transfer.h"

namespace wapolicy::cluster {
namespace {

namespace fs = std::filesystem;

grpc::Status ToGrpc(const absl::Status& s) {
  if (s.ok()) return grpc::Status::OK;
  return grpc::Status(static_cast<grpc::StatusCode>(s.code()), std::string(s.message()));
}

std::string PinText(const Ownership& o) {
  return absl::StrCat(o.state == PortfolioState::kMoving ? "MOVING" : "SERVING", " at ", o.node_id,
                      o.state == PortfolioState::kMoving ? absl::StrCat(" to ", o.target) : "");
}

// Removes a directory when it goes out of scope.
class DirCleanup {
 public:
  explicit DirCleanup(std::string dir) : dir_(std::move(dir)) {}
  ~DirCleanup() {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }
  DirCleanup(const DirCleanup&) = delete;
  DirCleanup& operator=(const DirCleanup&) = delete;

 private:
  std::string dir_;
};

// A file name from a manifest: a plain name, no directory.
absl::Status CheckFileName(absl::string_view name, int i) {
  if (name.empty() || name == "." || name == ".." || name.find('/') != absl::string_view::npos) {
    return absl::InvalidArgumentError(
        absl::StrCat("manifest.files[", i, "].name: '", name, "' is not a plain file name"));
  }
  return absl::OkStatus();
}

}  // namespace

class PortfolioService::BusyGuard {
 public:
  BusyGuard(PortfolioService* s, absl::string_view business) : s_(s), business_(business) {
    absl::MutexLock lock(&s_->mu_);
    auto free = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(s_->mu_) {
      return !s_->busy_.contains(business_);
    };
    s_->mu_.Await(absl::Condition(&free));
    s_->busy_.insert(business_);
  }
  ~BusyGuard() {
    absl::MutexLock lock(&s_->mu_);
    s_->busy_.erase(business_);
  }
  BusyGuard(const BusyGuard&) = delete;
  BusyGuard& operator=(const BusyGuard&) = delete;

 private:
  PortfolioService* const s_;
  const std::string business_;
};

PortfolioService::PortfolioService(PolicyEngine* engine, RocksStateStore* store,
                                   const TokenAuthority* auth, Options options)
    : engine_(engine), store_(store), auth_(auth), options_(std::move(options)) {}

absl::Status PortfolioService::Authorize(const grpc::ServerContext& ctx) const {
  if (auth_ == nullptr) return absl::OkStatus();
  absl::StatusOr<Caller> caller = auth_->Authenticate(ctx.client_metadata());
  if (!caller.ok()) return caller.status();
  if (!caller->admin) {
    return absl::PermissionDeniedError("PolicyCluster: an admin token is needed");
  }
  return absl::OkStatus();
}

absl::StatusOr<Membership*> PortfolioService::Joined() const {
  Membership* m = membership_.load(std::memory_order_acquire);
  if (m == nullptr) return absl::UnavailableError("this node has not joined its cluster yet");
  return m;
}

absl::StatusOr<Ownership> PortfolioService::OwnerAt(Membership& m, absl::string_view business,
                                                    int64_t revision,
                                                    absl::string_view field) const {
  if (revision <= 0) {
    return absl::InvalidArgumentError(absl::StrCat(field, ": must be positive"));
  }
  if (!m.AwaitRevision(revision, options_.revision_timeout)) {
    return absl::UnavailableError(
        absl::StrCat(field, ": this node's assignment has not reached revision ", revision,
                     " within ", absl::FormatDuration(options_.revision_timeout),
                     " (at ", m.current()->revision(), ")"));
  }
  return m.current()->Owner(business);
}

absl::StatusOr<std::string> PortfolioService::MakeWorkDir(absl::string_view kind,
                                                          absl::string_view business) {
  const std::string dir =
      absl::StrCat(options_.work_dir, "/", kind, "-", business, "-", getpid(), "-", next_dir_++);
  std::error_code ec;
  fs::remove_all(dir, ec);
  fs::create_directories(dir, ec);
  if (ec) {
    return absl::InternalError(absl::StrCat("work_dir: cannot create ", dir, ": ", ec.message()));
  }
  return dir;
}

// --- ExportPortfolio -----------------------------------------------------------

grpc::Status PortfolioService::ExportPortfolio(grpc::ServerContext* ctx,
                                               const v1::ExportPortfolioRequest* request,
                                               grpc::ServerWriter<v1::PortfolioChunk>* writer) {
  if (absl::Status s = Authorize(*ctx); !s.ok()) return ToGrpc(s);
  return ToGrpc(Export(*request, writer));
}

absl::Status PortfolioService::Export(const v1::ExportPortfolioRequest& request,
                                      grpc::ServerWriter<v1::PortfolioChunk>* writer) {
  const std::string& b = request.business_id();
  if (absl::Status s = ValidateBusinessId(b); !s.ok()) {
    return absl::InvalidArgumentError(absl::StrCat("business_id: ", s.message()));
  }
  absl::StatusOr<Membership*> m = Joined();
  if (!m.ok()) return m.status();
  absl::StatusOr<Ownership> o = OwnerAt(**m, b, request.pin_revision(), "pin_revision");
  if (!o.ok()) return o.status();
  if (o->state != PortfolioState::kMoving || o->node_id != (*m)->node_id()) {
    return absl::FailedPreconditionError(
        absl::StrCat("business_id: '", b, "' is not moving from this node (", (*m)->node_id(),
                     "): its pin is ", PinText(*o)));
  }
  BusyGuard busy(this, b);
  // Nothing of it is being applied from here on, and all that was is durable.
  if (absl::Status s = engine_->FreezeBusiness(b); !s.ok()) {
    if (s.code() == absl::StatusCode::kNotFound) {
      return absl::NotFoundError(absl::StrCat("business_id: this node holds nothing of '", b, "'"));
    }
    return s;
  }
  absl::StatusOr<std::vector<PhoneNumber>> numbers = engine_->BusinessNumbers(b);
  if (!numbers.ok()) return numbers.status();
  absl::StatusOr<std::string> dir = MakeWorkDir("export", b);
  if (!dir.ok()) return dir.status();
  DirCleanup cleanup(*dir);
  absl::StatusOr<PortfolioExport> out = wapolicy::ExportPortfolio(*store_, b, *numbers, *dir);
  if (!out.ok()) return out.status();

  v1::PortfolioChunk head;
  v1::PortfolioManifest& manifest = *head.mutable_manifest();
  manifest.set_business_id(out->business_id);
  for (const PhoneNumber& n : out->numbers) manifest.add_numbers(n.E164());
  manifest.set_profile_name(out->profile.name);
  manifest.set_profile_revision(out->profile.revision);
  for (int64_t rung : out->profile.ladder) manifest.add_profile_ladder(rung);
  manifest.set_profile_per_portfolio(out->profile.per_portfolio);
  for (const ExportedFile& f : out->files) {
    v1::PortfolioFile* pf = manifest.add_files();
    pf->set_family(static_cast<int32_t>(f.family));
    pf->set_name(fs::path(f.path).filename().string());
    pf->set_records(f.records);
    pf->set_bytes(f.bytes);
    pf->set_digest(f.digest);
  }
  manifest.set_records(out->records);
  manifest.set_pin_revision(request.pin_revision());
  if (!writer->Write(head)) return absl::CancelledError("the mover went away");
  std::vector<char> buf(std::max<size_t>(options_.chunk_bytes, 1));
  for (size_t i = 0; i < out->files.size(); ++i) {
    std::ifstream in(out->files[i].path, std::ios::binary);
    if (!in) return absl::InternalError(absl::StrCat("cannot read ", out->files[i].path));
    int64_t offset = 0;
    while (in) {
      in.read(buf.data(), static_cast<std::streamsize>(buf.size()));
      const std::streamsize got = in.gcount();
      if (got <= 0) break;
      v1::PortfolioChunk chunk;
      v1::PortfolioChunk::FileBytes& data = *chunk.mutable_data();
      data.set_file(static_cast<int32_t>(i));
      data.set_offset(offset);
      data.set_bytes(buf.data(), static_cast<size_t>(got));
      offset += got;
      if (!writer->Write(chunk)) return absl::CancelledError("the mover went away");
    }
    if (static_cast<uint64_t>(offset) != out->files[i].bytes) {
      return absl::InternalError(absl::StrCat(out->files[i].path, ": read ", offset,
                                              " bytes, the manifest says ", out->files[i].bytes));
    }
  }
  return absl::OkStatus();
}

// --- IngestPortfolio -----------------------------------------------------------

grpc::Status PortfolioService::IngestPortfolio(grpc::ServerContext* ctx,
                                               grpc::ServerReader<v1::PortfolioChunk>* reader,
                                               v1::IngestPortfolioResponse* response) {
  if (absl::Status s = Authorize(*ctx); !s.ok()) return ToGrpc(s);
  return ToGrpc(Ingest(reader, response));
}

absl::Status PortfolioService::Ingest(grpc::ServerReader<v1::PortfolioChunk>* reader,
                                      v1::IngestPortfolioResponse* response) {
  v1::PortfolioChunk chunk;
  if (!reader->Read(&chunk) || !chunk.has_manifest()) {
    return absl::InvalidArgumentError("manifest: the stream must start with the manifest");
  }
  const v1::PortfolioManifest manifest = chunk.manifest();
  const std::string& b = manifest.business_id();
  if (absl::Status s = ValidateBusinessId(b); !s.ok()) {
    return absl::InvalidArgumentError(absl::StrCat("manifest.business_id: ", s.message()));
  }
  PortfolioExport in;
  in.business_id = b;
  for (int i = 0; i < manifest.numbers_size(); ++i) {
    absl::StatusOr<PhoneNumber> n = PhoneNumber::Parse(manifest.numbers(i));
    if (!n.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat("manifest.numbers[", i, "]: ", n.status().message()));
    }
    in.numbers.push_back(*n);
  }
  in.profile.name = manifest.profile_name();
  in.profile.revision = manifest.profile_revision();
  in.profile.ladder.assign(manifest.profile_ladder().begin(), manifest.profile_ladder().end());
  in.profile.per_portfolio = manifest.profile_per_portfolio();
  in.records = manifest.records();
  for (int i = 0; i < manifest.files_size(); ++i) {
    if (absl::Status s = CheckFileName(manifest.files(i).name(), i); !s.ok()) return s;
  }

  absl::StatusOr<Membership*> m = Joined();
  if (!m.ok()) return m.status();
  absl::StatusOr<Ownership> o = OwnerAt(**m, b, manifest.pin_revision(), "manifest.pin_revision");
  if (!o.ok()) return o.status();
  if (o->state != PortfolioState::kMoving || o->target != (*m)->node_id()) {
    return absl::FailedPreconditionError(
        absl::StrCat("manifest.business_id: '", b, "' is not moving to this node (",
                     (*m)->node_id(), "): its pin is ", PinText(*o)));
  }
  BusyGuard busy(this, b);
  absl::StatusOr<std::string> dir = MakeWorkDir("ingest", b);
  if (!dir.ok()) return dir.status();
  DirCleanup cleanup(*dir);
  std::vector<std::unique_ptr<std::ofstream>> files;
  std::vector<uint64_t> written(manifest.files_size(), 0);
  for (int i = 0; i < manifest.files_size(); ++i) {
    const v1::PortfolioFile& f = manifest.files(i);
    ExportedFile e;
    e.family = static_cast<StateFamily>(f.family());
    e.path = absl::StrCat(*dir, "/", f.name());
    e.records = f.records();
    e.bytes = f.bytes();
    e.digest = f.digest();
    in.files.push_back(e);
    files.push_back(std::make_unique<std::ofstream>(e.path, std::ios::binary | std::ios::trunc));
    if (!*files.back()) return absl::InternalError(absl::StrCat("cannot create ", e.path));
  }
  while (reader->Read(&chunk)) {
    if (!chunk.has_data()) {
      return absl::InvalidArgumentError("chunk: a second manifest in the stream");
    }
    const v1::PortfolioChunk::FileBytes& data = chunk.data();
    const int i = data.file();
    if (i < 0 || i >= manifest.files_size()) {
      return absl::InvalidArgumentError(
          absl::StrCat("chunk.data.file: ", i, " is not in the manifest"));
    }
    if (data.offset() < 0 || static_cast<uint64_t>(data.offset()) != written[i]) {
      return absl::InvalidArgumentError(absl::StrCat("chunk.data.offset: ", data.offset(),
                                                     " for file ", i, ", expected ", written[i]));
    }
    if (written[i] + data.bytes().size() > manifest.files(i).bytes()) {
      return absl::InvalidArgumentError(absl::StrCat("chunk.data: file ", i,
                                                     " longer than the manifest's ",
                                                     manifest.files(i).bytes(), " bytes"));
    }
    files[i]->write(data.bytes().data(), static_cast<std::streamsize>(data.bytes().size()));
    written[i] += data.bytes().size();
  }
  for (int i = 0; i < manifest.files_size(); ++i) {
    files[i]->close();
    if (!*files[i]) return absl::InternalError(absl::StrCat("writing ", in.files[i].path));
    if (written[i] != manifest.files(i).bytes()) {
      return absl::DataLossError(absl::StrCat("manifest.files[", i, "]: received ", written[i],
                                              " of ", manifest.files(i).bytes(), " bytes"));
    }
  }
  // Checked before anything here changes.
  absl::StatusOr<std::vector<StoredRecord>> records = ReadExportedRecords(in);
  if (!records.ok()) return records.status();
  // A copy from an earlier attempt (the node restarted after it, or the
  // mover lost the answer): never served here, the pin being MOVING.
  if (engine_->HasBusiness(b)) {
    absl::StatusOr<DroppedBusiness> gone = wapolicy::DropPortfolio(*store_, *engine_, b);
    if (!gone.ok()) return gone.status();
    response->set_replaced(true);
  }
  IngestOptions options;
  options.move_files = true;
  if (absl::Status s = wapolicy::IngestPortfolio(*store_, *engine_, in, options); !s.ok()) return s;
  response->set_records(in.records);
  return absl::OkStatus();
}

// --- DropPortfolio -------------------------------------------------------------

grpc::Status PortfolioService::DropPortfolio(grpc::ServerContext* ctx,
                                             const v1::DropPortfolioRequest* request,
                                             v1::DropPortfolioResponse* response) {
  if (absl::Status s = Authorize(*ctx); !s.ok()) return ToGrpc(s);
  return ToGrpc(Drop(*request, response));
}

absl::Status PortfolioService::Drop(const v1::DropPortfolioRequest& request,
                                    v1::DropPortfolioResponse* response) {
  const std::string& b = request.business_id();
  if (absl::Status s = ValidateBusinessId(b); !s.ok()) {
    return absl::InvalidArgumentError(absl::StrCat("business_id: ", s.message()));
  }
  absl::StatusOr<Membership*> m = Joined();
  if (!m.ok()) return m.status();
  absl::StatusOr<Ownership> o = OwnerAt(**m, b, request.pin_revision(), "pin_revision");
  if (!o.ok()) return o.status();
  if (o->state != PortfolioState::kServing || o->node_id == (*m)->node_id()) {
    return absl::FailedPreconditionError(
        absl::StrCat("business_id: '", b, "' is not served by another node: its pin is ",
                     PinText(*o)));
  }
  BusyGuard busy(this, b);
  absl::StatusOr<DroppedBusiness> gone = wapolicy::DropPortfolio(*store_, *engine_, b);
  if (!gone.ok()) {
    if (gone.status().code() == absl::StatusCode::kNotFound) return absl::OkStatus();
    return gone.status();
  }
  response->set_dropped(true);
  for (const PhoneNumber& n : gone->numbers) response->add_numbers(n.E164());
  return absl::OkStatus();
}

// --- ListPortfolios ------------------------------------------------------------

grpc::Status PortfolioService::ListPortfolios(grpc::ServerContext* ctx,
                                              const v1::ListPortfoliosRequest*,
                                              v1::ListPortfoliosResponse* response) {
  if (absl::Status s = Authorize(*ctx); !s.ok()) return ToGrpc(s);
  if (Membership* m = membership_.load(std::memory_order_acquire); m != nullptr) {
    response->set_node_id(m->node_id());
  }
  for (const std::string& b : engine_->BusinessIds()) {
    v1::ListPortfoliosResponse::Held* held = response->add_portfolios();
    held->set_business_id(b);
    absl::StatusOr<std::vector<PhoneNumber>> numbers = engine_->BusinessNumbers(b);
    held->set_numbers(numbers.ok() ? static_cast<int32_t>(numbers->size()) : 0);
    held->set_frozen(engine_->IsFrozen(b));
  }
  return grpc::Status::OK;
}

}  // namespace wapolicy::cluster
