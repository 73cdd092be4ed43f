// The store moved to src/store/ (its own folder at the bottom of src/); this path
// stays for the modules that import it from here.
export * from '../store/config-store.ts';
