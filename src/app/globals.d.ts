/** The build's identity (vite.config.ts `define`): $BEHAVEGPT_BUILD_ID, else the git commit. */
declare const __BEHAVEGPT_BUILD__: string;
