// JS face of the reader thread (reader_engine.h): `new Reader(ring, uffdTable,
// { kickFd })` with add/remove/idle/stats/stop. It checks arguments, keeps the
// SharedArrayBuffers alive for as long as the thread uses them, stops the
// thread when the environment (main thread or worker) goes away, and turns
// the engine's outcomes into errors.
#include <napi.h>

#include <algorithm>
#include <memory>
#include <optional>
#include <string>

#include "../errors.h"
#include "../init.h"
#include "../ring_arg.h"
#include "reader_engine.h"

namespace faultline {

namespace {

// uffdTable: an Int32Array over a SAB (fd per uffd id, -1 when free).
Napi::Int32Array TableArg(const Napi::CallbackInfo& info) {
  if (info.Length() < 2 || !info[1].IsTypedArray() || info[1].As<Napi::TypedArray>().TypedArrayType() != napi_int32_array) {
    throw Napi::TypeError::New(info.Env(), "uffdTable must be an Int32Array over a SharedArrayBuffer (fd per uffd id, -1 when free)");
  }
  return info[1].As<Napi::Int32Array>();
}

int KickFd(Napi::Env env, const Napi::CallbackInfo& info) {
  if (info.Length() <= 2 || info[2].IsUndefined()) return -1;
  if (!info[2].IsObject()) throw Napi::TypeError::New(env, "options must be an object ({ kickFd })");
  Napi::Value kick = info[2].As<Napi::Object>().Get("kickFd");
  if (kick.IsUndefined()) return -1;
  if (!kick.IsNumber() || kick.As<Napi::Number>().Int32Value() < 0) {
    throw Napi::TypeError::New(env, "options.kickFd must be a file descriptor (the direct poll set's kick eventfd)");
  }
  return kick.As<Napi::Number>().Int32Value();
}

}  // namespace

class Reader : public Napi::ObjectWrap<Reader> {
 public:
  static Napi::Function Define(Napi::Env env) {
    return DefineClass(env, "Reader",
                       {InstanceMethod<&Reader::Add>("add"), InstanceMethod<&Reader::Remove>("remove"),
                        InstanceMethod<&Reader::Idle>("idle"), InstanceMethod<&Reader::Stats>("stats"),
                        InstanceMethod<&Reader::StopJs>("stop")});
  }

  explicit Reader(const Napi::CallbackInfo& info) : Napi::ObjectWrap<Reader>(info) {
    Napi::Env env = info.Env();
    ring::RingView ring = RingArg(info, 0, "ring");
    Napi::Int32Array table = TableArg(info);
    // Ids beyond what a record can carry are never handed out.
    uint32_t table_size = static_cast<uint32_t>(std::min<size_t>(table.ElementLength(), ring::kMaxUffdId + 1));
    if (table_size == 0) throw Napi::RangeError::New(env, "uffdTable must have at least one entry");
    int kick_fd = KickFd(env, info);
    keep_ring_ = Napi::Persistent(info[0].As<Napi::Object>());
    keep_table_ = Napi::Persistent(info[1].As<Napi::Object>());
    engine_ = std::make_unique<ReaderEngine>(ring, table.Data(), table_size, kick_fd);
    const char* failed_call = "";
    if (int rc = engine_->Start(&failed_call); rc < 0) throw ErrnoError(env, failed_call, -rc);
    // A worker or process exit must never leave the thread running over
    // buffers that are about to be freed.
    napi_add_env_cleanup_hook(env, &Reader::CleanupHook, this);
  }

  ~Reader() override {
    if (engine_ == nullptr) return;  // the constructor threw before making it
    engine_->Stop();
    napi_remove_env_cleanup_hook(Env(), &Reader::CleanupHook, this);
  }

 private:
  Napi::Value Add(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    int fd = ArgFd(info, 0, "fd");
    std::optional<uint64_t> claimed;
    if (info.Length() > 1 && !info[1].IsUndefined()) {
      // The caller claimed the slot itself (so its regions are described
      // before any fault is read); the engine just checks the claim.
      claimed = ArgU64(info, 1, "id");
    }
    ReaderAddResult r = engine_->Add(fd, claimed);
    switch (r.status) {
      case ReaderAddResult::kAdded:
        return Napi::Number::New(env, r.id);
      case ReaderAddResult::kStopped:
        throw CodedError(env, "ERR_FAULTLINE_READER_STOPPED", "the reader is stopped: create a new Reader");
      case ReaderAddResult::kSyscallFailed:
        throw ErrnoError(env, r.failed_call, r.err, r.err == EBADF ? "pass an open userfaultfd" : "");
      case ReaderAddResult::kNotClaimed:
        throw CodedError(env, "ERR_FAULTLINE_UFFD_NOT_CLAIMED",
                         "uffd table entry " + std::to_string(*claimed) + " does not hold fd " + std::to_string(fd) +
                             ": claim it first with Atomics.compareExchange(table, id, -1, fd)");
      case ReaderAddResult::kAlreadyAdded:
        throw CodedError(env, "ERR_FAULTLINE_UFFD_ALREADY_ADDED",
                         "fd " + std::to_string(fd) + " is already in the uffd table: add each uffd once");
      case ReaderAddResult::kTableFull:
        break;
    }
    throw CodedError(env, "ERR_FAULTLINE_UFFD_TABLE_FULL",
                     "every uffd id of the table is taken (" + std::to_string(engine_->table_size()) +
                         "): close uffds you no longer serve (their table entry back to -1) or use a larger table");
  }

  Napi::Value Remove(const Napi::CallbackInfo& info) {
    uint64_t id = ArgU64(info, 0, "id");
    if (id >= engine_->table_size()) throw Napi::RangeError::New(info.Env(), "id is not a uffd id of this reader's table");
    engine_->Remove(static_cast<uint32_t>(id));
    return info.Env().Undefined();
  }

  Napi::Value Idle(const Napi::CallbackInfo& info) { return Napi::Boolean::New(info.Env(), engine_->Idle()); }

  Napi::Value Stats(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    ReaderStats s = engine_->Stats();
    Napi::Object o = Napi::Object::New(env);
    auto put = [&](const char* name, uint64_t v) { o.Set(name, Napi::Number::New(env, static_cast<double>(v))); };
    put("messages", s.messages);
    put("reads", s.reads);
    put("stalls", s.stalls);
    put("wakeups", s.wakeups);
    put("hangups", s.hangups);
    put("unknownEvents", s.unknown_events);
    put("forksRefused", s.forks_refused);
    return o;
  }

  Napi::Value StopJs(const Napi::CallbackInfo& info) {
    engine_->Stop();
    return info.Env().Undefined();
  }

  static void CleanupHook(void* self) { static_cast<Reader*>(self)->engine_->Stop(); }

  std::unique_ptr<ReaderEngine> engine_;
  Napi::ObjectReference keep_ring_;  // the SABs outlive the thread
  Napi::ObjectReference keep_table_;
};

void InitReader(Napi::Env env, Napi::Object exports) {
  exports.Set("Reader", Reader::Define(env));
}

}  // namespace faultline
