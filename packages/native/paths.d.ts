/** Directory holding the compiled addon and the executables built by binding.gyp. */
export declare const buildDir: string;
/** Absolute path of the compiled addon (.node). */
export declare const addonPath: string;
