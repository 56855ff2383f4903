/** Application and OS image: the server's images (DescribeImages) as a radio group of cards. */
import type { Image } from '@aws-sdk/client-ec2';
import { platformOf } from '../../capabilities.js';
import { LinuxIcon, WindowsIcon } from '../../components/Icons.js';

export function ImagePicker(props: { images: readonly Image[]; value: string; onChange: (imageId: string) => void }) {
  return (
    <fieldset class="image-picker">
      <legend class="visually-hidden">Image</legend>
      {props.images.map((image) => {
        const id = image.ImageId ?? '';
        const windows = platformOf(image) === 'windows';
        return (
          <label key={id} class={id === props.value ? 'image-card selected' : 'image-card'}>
            <input
              type="radio"
              name="image"
              value={id}
              checked={id === props.value}
              onChange={() => props.onChange(id)}
            />
            <span class="os-mark">{windows ? <WindowsIcon /> : <LinuxIcon />}</span>
            <span class="image-card-text">
              <strong>{windows ? 'Windows' : 'Linux'}</strong>
              <span class="small">{image.Name}</span>
              <span class="muted small mono">
                {id} · {image.Architecture}
              </span>
            </span>
          </label>
        );
      })}
    </fieldset>
  );
}
