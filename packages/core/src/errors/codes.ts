/**
 * Every stable error code LoRAFuse throws, with what it means.
 *
 * Codes are part of the public API: they never change meaning, and new ones
 * are only added. Each input problem has its own code so that callers can
 * react to it without parsing messages.
 */
export const ErrorCodes = {
  // Options and arguments
  /** An option has a value outside its allowed range or of the wrong type. */
  INVALID_OPTION: 'Option value is invalid',
  /** An option name is not known to the function or command. */
  UNKNOWN_OPTION: 'Unknown option',
  /** Tensor shapes do not agree with each other or with the operation. */
  SHAPE_MISMATCH: 'Tensor shapes do not match',
  /** Tensor dtypes do not agree with each other or with the operation. */
  DTYPE_MISMATCH: 'Tensor dtypes do not match',
  /** A dtype is not supported by the operation or format. */
  UNSUPPORTED_DTYPE: 'Unsupported dtype',
  /** A value that must be finite is NaN or infinite. */
  NON_FINITE_VALUE: 'Value is NaN or infinite',
  /** The operation was cancelled through an AbortSignal. */
  ABORTED: 'Operation aborted',

  // Files and folders
  /** A file or folder that was asked for does not exist. */
  FILE_NOT_FOUND: 'File not found',
  /** Reading a file failed for a reason other than its absence. */
  FILE_READ_FAILED: 'File could not be read',
  /** Writing a file failed; nothing was replaced. */
  FILE_WRITE_FAILED: 'File could not be written',
  /** A path taken from a file would leave the folder it belongs to. */
  PATH_ESCAPE: 'Path escapes its folder',
  /** An output folder is an input folder or lies inside one, so writing it would overwrite or mix with the input. */
  OUTPUT_OVERLAPS_INPUT: 'Output folder overlaps an input',
  /** A byte range lies outside the file or blob. */
  READ_OUT_OF_BOUNDS: 'Read outside the data',
  /** Text is not valid UTF-8. */
  INVALID_UTF8: 'Text is not valid UTF-8',
  /** Text is not valid JSON. */
  INVALID_JSON: 'Text is not valid JSON',
  /** JSON nests deeper, or is larger, than the configured limit. */
  JSON_LIMIT_EXCEEDED: 'JSON exceeds a size or depth limit',
  /** The file is in a format that can run code when loaded (PyTorch pickle: `.bin`, `.pt`, `.pth`, `.ckpt`, `.pkl`); LoRAFuse reads safetensors only. */
  UNSAFE_FILE_FORMAT: 'File format can run code and is refused',
  /** An HTTP request for a file answered with an error status (`details.status`), or a server ignored a byte-range request. */
  HTTP_ERROR: 'HTTP request failed',
  /** A request for a URL did not reach the server (offline, DNS, CORS, refused connection). */
  NETWORK_ERROR: 'Network request failed',

  // Hugging Face Hub
  /** The Hub answered 401 or 403: the repository is gated or private (or does not exist) and the token is missing or lacks access. */
  HUB_AUTH_REQUIRED: 'The Hub refused access without a valid token',
  /** The Hub has no repository of that id, or no such branch, tag or commit in it. */
  HUB_REPO_NOT_FOUND: 'Hub repository or revision not found',
  /** Offline (`HF_HUB_OFFLINE=1` or the `offline` option), and the revision or file is not in the cache. */
  HUB_NOT_CACHED: 'Not in the Hub cache, and offline',
  /** A downloaded file still did not match its etag (SHA-256 or git blob id) after it was fetched again. */
  HUB_INTEGRITY: 'Downloaded file does not match its hash',

  // safetensors
  /** The file is shorter than the 8-byte header length prefix. */
  SAFETENSORS_TOO_SMALL: 'safetensors file is too small',
  /** The declared header length exceeds the configured cap. */
  SAFETENSORS_HEADER_TOO_LARGE: 'safetensors header is too large',
  /** The declared header length runs past the end of the file. */
  SAFETENSORS_HEADER_TRUNCATED: 'safetensors header is truncated',
  /** The header JSON has the wrong structure (not an object, missing or mistyped fields). */
  SAFETENSORS_HEADER_INVALID: 'safetensors header is malformed',
  /** The header names a dtype that safetensors does not define. */
  SAFETENSORS_UNKNOWN_DTYPE: 'safetensors dtype is unknown',
  /** A shape has a negative, fractional or too large dimension, or too many elements. */
  SAFETENSORS_INVALID_SHAPE: 'safetensors shape is invalid',
  /** Offsets are reversed, overlap, leave holes, or do not start at 0. */
  SAFETENSORS_INVALID_OFFSETS: 'safetensors offsets are invalid',
  /** Offsets point past the end of the data section. */
  SAFETENSORS_OFFSETS_OUT_OF_BOUNDS: 'safetensors offsets are out of bounds',
  /** The byte span of a tensor differs from dtype size × element count. */
  SAFETENSORS_SIZE_MISMATCH: 'safetensors byte size does not match dtype and shape',
  /** The same tensor name appears twice in the header. */
  SAFETENSORS_DUPLICATE_TENSOR: 'safetensors tensor name is duplicated',
  /** More tensors than the configured limit. */
  SAFETENSORS_TOO_MANY_TENSORS: 'safetensors file has too many tensors',
  /** A tensor asked for by name is not in the file. */
  TENSOR_NOT_FOUND: 'Tensor not found',
  /** A sharded checkpoint index (`*.index.json`) is malformed or names missing shards. */
  SHARD_INDEX_INVALID: 'Sharded checkpoint index is invalid',

  // PEFT adapters
  /** `adapter_config.json` is missing from an adapter folder. */
  ADAPTER_CONFIG_MISSING: 'adapter_config.json is missing',
  /** `adapter_config.json` has missing or mistyped fields. */
  ADAPTER_CONFIG_INVALID: 'adapter_config.json is invalid',
  /** The adapter uses a PEFT feature LoRAFuse does not support (DoRA, other PEFT types, ...). */
  ADAPTER_UNSUPPORTED: 'Adapter uses an unsupported feature',
  /** The adapter weights file is missing. */
  ADAPTER_WEIGHTS_MISSING: 'Adapter weights are missing',
  /** A LoRA module lacks its A or its B factor. */
  ADAPTER_MODULE_INCOMPLETE: 'LoRA module is missing a factor',
  /** A and B disagree on the rank, or the rank disagrees with the config. */
  ADAPTER_RANK_MISMATCH: 'LoRA rank mismatch',
  /** A tensor in the adapter file is not a recognisable LoRA weight. */
  ADAPTER_UNKNOWN_TENSOR: 'Adapter holds an unrecognised tensor',

  // Hugging Face models
  /** `config.json` is missing from a model folder. */
  MODEL_CONFIG_MISSING: 'config.json is missing',
  /** `config.json` has missing or mistyped fields. */
  MODEL_CONFIG_INVALID: 'config.json is invalid',
  /** The model architecture is not supported. */
  MODEL_UNSUPPORTED: 'Model architecture is not supported',
  /** The model folder has no weights, or a required weight is missing. */
  MODEL_WEIGHTS_MISSING: 'Model weights are missing',
  /** A sequence (a generation prompt plus its new tokens) does not fit the model's context. */
  CONTEXT_EXCEEDED: "Sequence does not fit the model's context",

  // Backends
  /** No backend is registered under the requested name. */
  BACKEND_NOT_FOUND: 'Backend not found',
  /** A backend with this name is already registered. */
  BACKEND_DUPLICATE: 'Backend already registered',
  /** The backend failed to initialise on this machine. */
  BACKEND_INIT_FAILED: 'Backend failed to initialise',
  /** A backend's package, or a package it needs, cannot be imported here; the message gives the `npm install` command. */
  BACKEND_NOT_INSTALLED: 'Backend package is not installed',
  /** `auto` found no backend that initialises; the error lists each attempt. */
  BACKEND_UNAVAILABLE: 'No backend is available',
  /** A runtime was asked for its backend before one was selected with `useBackend`. */
  BACKEND_NOT_SELECTED: 'No backend is selected',
  /** The backend was disposed or lost its device and can no longer be used. */
  BACKEND_DISPOSED: 'Backend is no longer usable',
  /** A tensor was used with a backend that does not own it, or after it was freed. */
  TENSOR_DISPOSED: 'Tensor was freed or belongs to another backend',
  /** The GPU device was lost. */
  DEVICE_LOST: 'GPU device lost',
  /** A model or tensor does not fit in the backend's memory. */
  OUT_OF_MEMORY: 'Out of memory',

  // Plugins
  /** A plugin object does not follow the plugin contract. */
  PLUGIN_INVALID: 'Plugin is invalid',
  /** A plugin with the same kind and name is already registered. */
  PLUGIN_DUPLICATE: 'Plugin already registered',
  /** No plugin of that kind and name is registered. */
  PLUGIN_NOT_FOUND: 'Plugin not found',

  /** An adapter does not fit the model it is applied to: a module that is not one of the model's projections, or factors of other shapes. */
  ADAPTER_MODEL_MISMATCH: 'Adapter does not fit the model',

  // Merging
  /** Adapters to merge do not fit together: different modules, factor shapes or ranks where the method needs equal ones. */
  MERGE_INCOMPATIBLE: 'Adapters cannot be merged together',

  // Pruning
  /**
   * Pruning needs an input the caller did not give: activation statistics
   * (input-feature norms) or gradients for the importance metric, initial
   * values for reset mode, or Adam moments to reset.
   */
  PRUNE_INPUT_MISSING: 'Pruning input is missing',

  // Data and training
  /** A JSONL data line is malformed or lacks the expected fields (the message names the line number). */
  DATA_INVALID: 'Data record is invalid',
  /**
   * A `tokenizer.json` cannot be used: not a tokenizer the library reads, an empty vocabulary, or a split/replace
   * regular expression that could backtrack catastrophically.
   */
  TOKENIZER_INVALID: 'Tokenizer file is invalid',
  /** A checkpoint belongs to a run with other inputs, data or options than the run asked to resume from it. */
  CHECKPOINT_MISMATCH: 'Checkpoint belongs to another run',
  /**
   * A chat template cannot be used: the model folder has none (no `chat_template.jinja`, no `chat_template` in
   * tokenizer_config.json), it does not parse, it fails to render (its own `raise_exception` included), or it
   * renders a conversation whose prompt is not the start of the whole conversation.
   */
  CHAT_TEMPLATE_INVALID: 'Chat template cannot be used',
  /**
   * Training gave a NaN or infinite loss or gradient norm for `badSteps.maxConsecutive` steps in a row; the last good
   * parameters are kept (and checkpointed when a folder is configured).
   */
  TRAINING_DIVERGED: 'Training diverged',

  // Web Workers
  /** A worker was asked for a method it does not serve, or answered with a message that is not part of the protocol. */
  WORKER_PROTOCOL: 'Worker protocol violation',
  /** The worker failed to load or crashed, or was terminated, before it answered. */
  WORKER_FAILED: 'Worker failed',

  // Command line
  /** The command line is malformed (unknown command, missing argument). */
  CLI_USAGE: 'Command line usage error',
  /** A benchmarked implementation returned a wrong result (checked against float64 on a sample of outputs), so its timing is void. */
  BENCH_WRONG_RESULT: 'Benchmarked result is wrong',
} as const;

/** A stable string identifying the kind of a {@link LoraFuseError}. */
export type ErrorCode = keyof typeof ErrorCodes;
