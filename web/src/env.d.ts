// Stylesheets imported for their side effect; Vite bundles them into dist/assets/*.css.
declare module "*.css";
