// Test and bench entry points of the C++ ring (ring.h): ringProduce, a
// multi-threaded native producer for the stress test and the bench, and
// encodeUffdMsg, the reader's uffd_msg -> record encoder exposed for the
// golden vectors.
#include <cstring>
#include <thread>
#include <vector>

#include "../errors.h"
#include "../ring.h"
#include "../ring_arg.h"
#include "../sys/clock.h"
#include "testing_init.h"

namespace faultline {

namespace {

// Runs the producer threads off the JS thread (on the libuv pool) and settles
// the promise when all have pushed everything. Not on the fault path, so a
// promise and the event loop are fine here.
class ProduceWorker : public Napi::AsyncWorker {
 public:
  ProduceWorker(Napi::Env env, Napi::Int32Array ring_array, ring::RingView ring, uint32_t threads, uint64_t per_thread)
      : Napi::AsyncWorker(env, "faultline:ringProduce"),
        deferred_(Napi::Promise::Deferred::New(env)),
        keep_alive_(Napi::Persistent(ring_array)),  // the SAB must outlive the threads
        ring_(ring),
        threads_(threads),
        per_thread_(per_thread) {}

  Napi::Promise Promise() { return deferred_.Promise(); }

  void Execute() override {
    std::vector<uint64_t> stalls(threads_, 0);
    std::vector<std::thread> pool;
    bool closed = false;
    std::vector<char> closed_by(threads_, 0);
    uint64_t start = sys::MonotonicNs();
    for (uint32_t t = 0; t < threads_; t++) {
      pool.emplace_back([this, t, &stalls, &closed_by] {
        ring::RingView ring = ring_;
        uint32_t record[4];
        for (uint64_t i = 0; i < per_thread_; i++) {
          ring::PutRecord(record, ring::TypeWord(ring::kKindFault, 0, 0, t), 0, i);
          if (ring.Push(record, 1, &stalls[t]) != ring::RingView::PushResult::kOk) {
            closed_by[t] = 1;
            return;
          }
        }
      });
    }
    for (auto& th : pool) th.join();
    elapsed_ns_ = sys::MonotonicNs() - start;
    for (uint32_t t = 0; t < threads_; t++) {
      total_stalls_ += stalls[t];
      closed = closed || closed_by[t] != 0;
    }
    if (closed) SetError("ERR_FAULTLINE_RING_CLOSED: the ring was closed before every record was pushed");
  }

  void OnOK() override {
    Napi::Env env = Env();
    Napi::Object result = Napi::Object::New(env);
    result.Set("stalls", Napi::Number::New(env, static_cast<double>(total_stalls_)));
    result.Set("elapsedNs", Napi::Number::New(env, static_cast<double>(elapsed_ns_)));
    deferred_.Resolve(result);
  }

  void OnError(const Napi::Error& error) override {
    Napi::Error coded = CodedError(Env(), "ERR_FAULTLINE_RING_CLOSED", error.Message());
    deferred_.Reject(coded.Value());
  }

 private:
  Napi::Promise::Deferred deferred_;
  Napi::Reference<Napi::Int32Array> keep_alive_;
  ring::RingView ring_;
  uint32_t threads_;
  uint64_t per_thread_;
  uint64_t total_stalls_ = 0;
  uint64_t elapsed_ns_ = 0;
};

Napi::Value RingProduce(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  ring::RingView ring = RingArg(info, 0, "ring");
  uint64_t threads = ArgU64(info, 1, "threads");
  uint64_t per_thread = ArgU64(info, 2, "perThread");
  if (threads < 1 || threads > ring::kMaxUffdId + 1) {
    throw Napi::RangeError::New(env, "threads must be 1..4096 (each thread is a uffd id)");
  }
  auto* worker = new ProduceWorker(env, info[0].As<Napi::Int32Array>(), ring, static_cast<uint32_t>(threads), per_thread);
  Napi::Promise promise = worker->Promise();
  worker->Queue();
  return promise;
}

Napi::Value EncodeUffdMsgJs(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsTypedArray() || info[0].As<Napi::TypedArray>().TypedArrayType() != napi_uint8_array ||
      info[0].As<Napi::Uint8Array>().ByteLength() < sizeof(uffd_msg)) {
    throw Napi::TypeError::New(env, "msg must be a Uint8Array holding one 32-byte struct uffd_msg");
  }
  uint64_t uffd_id = ArgU64(info, 1, "uffdId");
  uint64_t child_id = info.Length() > 2 && !info[2].IsUndefined() ? ArgU64(info, 2, "forkChildId") : 0;
  if (uffd_id > ring::kMaxUffdId || child_id > ring::kMaxUffdId) {
    throw Napi::RangeError::New(env, "uffd ids must be 0..4095");
  }
  uffd_msg msg;
  std::memcpy(&msg, info[0].As<Napi::Uint8Array>().Data(), sizeof msg);
  uint32_t words[ring::kMaxMessageRecords * ring::kRecordWords];
  uint32_t n = ring::EncodeUffdMsg(msg, static_cast<uint32_t>(uffd_id), words, {static_cast<uint32_t>(child_id), 0});
  Napi::Uint32Array out = Napi::Uint32Array::New(env, n * ring::kRecordWords);
  std::memcpy(out.Data(), words, n * ring::kRecordWords * sizeof(uint32_t));
  return out;
}

}  // namespace

void InitRingTesting(Napi::Env env, Napi::Object exports) {
  exports.Set("ringProduce", Napi::Function::New(env, RingProduce, "ringProduce"));
  exports.Set("encodeUffdMsg", Napi::Function::New(env, EncodeUffdMsgJs, "encodeUffdMsg"));
}

}  // namespace faultline
